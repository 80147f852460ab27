/**
 * The group a fair poller serves a message in (lib/local/pollers.ts `groupOf`): the queue's
 * MessageGroupId when the queue returns one, else the tenant the job names (fauxqs drops the group on
 * standard queues), else one shared group — never a failure on a body that is not a job.
 */
import { describe, expect, it } from 'vitest';
import { groupOf } from '../../../../lib/local/pollers.ts';

describe('groupOf', () => {
  it('takes the MessageGroupId first, then the tenant a job names', () => {
    const job = JSON.stringify({ tenantId: 'acme', executionId: 'ex-1' });
    expect(groupOf({ Body: job, Attributes: { MessageGroupId: 'globex' } })).toBe('globex');
    expect(groupOf({ Body: job })).toBe('acme');
  });

  it('puts a body that names no tenant in the shared group', () => {
    for (const Body of [undefined, '', 'not json', 'null', '[]', '{"tenantId":7}', '{"tenant":"acme"}']) {
      expect(groupOf(Body === undefined ? {} : { Body })).toBe('');
    }
  });
});
