/**
 * Errors the AWS wiring raises while turning the topology and the CDK context into a stack. They are
 * thrown at synth time, so a missing source or a malformed context value stops `cdk synth` with a
 * message that names the file or the context key, before anything reaches CloudFormation.
 */

/** Base of every error raised while building the AWS stack. */
export class AwsWiringError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AwsWiringError';
  }
}

/** A function entry, Python handler or layer folder the topology names does not exist on disk. */
export class MissingSourceError extends AwsWiringError {
  readonly path: string;

  constructor(what: string, path: string) {
    super(`${what} does not exist: ${path}`);
    this.name = 'MissingSourceError';
    this.path = path;
  }
}

/** A CDK context value (cdk.json or `-c key=value`) has the wrong shape. */
export class InvalidContextError extends AwsWiringError {
  readonly key: string;

  constructor(key: string, problem: string) {
    super(`CDK context "${key}" ${problem}`);
    this.name = 'InvalidContextError';
    this.key = key;
  }
}
