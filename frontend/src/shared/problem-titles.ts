/**
 * Plain-language headings for the problems people meet (the API's detail is shown under them), by
 * problem type, else by status; and which of a problem's field errors say more than its detail. No
 * DOM here: the unit tests read it as it is.
 */

/** The fields of a problem a heading is chosen by. */
export interface TitledProblem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
}

/** By problem type (a Map: a type is the server's string, never an object's own property). */
const HUMAN_TITLES: ReadonlyMap<string, string> = new Map([
  ['unauthenticated', 'You are not signed in, or your session has ended'],
  ['session-ended', 'Your session has ended'],
  ['forbidden', 'You are not allowed to do this'],
  // A 403 too, but no permission is missing: the plan holds no more (the answer is another plan).
  ['plan-limit', 'Your plan’s limit is reached'],
  ['csrf-rejected', 'This page could not prove the request came from it; reload the page and try again'],
  ['wrong-password', 'The current password is not right'],
  ['validation-failed', 'Some values need correcting'],
  ['malformed-request', 'The request could not be read'],
  ['payload-too-large', 'This is too large'],
  ['not-found', 'Not found'],
  ['route-not-found', 'Not available on this platform'],
  ['unknown-host', 'This address is not bound to ExecFabric'],
  ['conflict', 'This conflicts with the current state'],
  ['handle-unavailable', 'That handle is taken'],
  ['not-runnable', 'This cannot run right now'],
  ['tenant-suspended', 'Your organisation cannot run anything right now'],
  ['approvers-unavailable', 'Not enough people may approve this run'],
  ['rate-limited', 'Too many attempts'],
  ['quota-exceeded', 'A quota is used up for now'],
  ['service-unavailable', 'The service is busy; try again shortly'],
  ['timed-out', 'That took too long — it may have gone through; check before trying again'],
  ['upstream-failed', 'A service the platform called failed'],
  ['internal', 'Something went wrong on our side'],
]);

/** The human heading of a problem: by its type, else by its status. */
export function humanTitle(problem: TitledProblem): string {
  const slug = problem.type.startsWith('urn:execfabric:problem:') ? problem.type.slice(23) : '';
  const byType = HUMAN_TITLES.get(slug);
  if (byType !== undefined) return byType;
  const byStatus =
    problem.status === 401
      ? 'unauthenticated'
      : problem.status === 403
        ? 'forbidden'
        : problem.status === 409
          ? 'conflict'
          : problem.status === 422
            ? 'validation-failed'
            : problem.status >= 500
              ? 'internal'
              : '';
  if (problem.status === 404) return 'Not found';
  return HUMAN_TITLES.get(byStatus) ?? problem.title;
}

/** A field error as the API gives it. */
export interface ProblemField {
  readonly path: string;
  readonly message: string;
}

// A message's trailing place, e.g. " (line 1, column 22)".
const TRAILING_PLACE = /\s*(\([^()]*\))$/;

/**
 * The field errors a problem's detail does not already say: a check that fails on one field often
 * puts that field's message in the detail too ("The script does not compile (line 1, column 22):
 * SyntaxError: expected ':'" over "SyntaxError: expected ':' (line 1, column 22)"), and one
 * sentence read twice is noise. A message is said when the detail holds it, its place included.
 */
export function unsaidFields<F extends ProblemField>(detail: string, errors: readonly F[]): readonly F[] {
  return errors.filter((error) => {
    if (detail.includes(error.message)) return false;
    const place = TRAILING_PLACE.exec(error.message);
    if (place === null) return true;
    const text = error.message.slice(0, place.index);
    return !(text !== '' && detail.includes(text) && detail.includes(place[1] ?? ''));
  });
}
