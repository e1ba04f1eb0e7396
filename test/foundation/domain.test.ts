/**
 * lib/domain: the run statuses and the prefix rule, and the one prefix
 * message every checker uses (configure(), the key builder, the CLI). No Redis.
 */
import { expect } from 'chai';
import { configure, InvalidArgumentError } from 'workflow-redis/api';
import { CliError, resolveGlobals } from '../../lib/cli/context.js';
import { isValidPrefix, prefixProblem } from '../../lib/domain/prefix.js';
import { isRunStatus, isTerminalStatus, RUN_STATUSES, TERMINAL_RUN_STATUSES } from '../../lib/domain/run-status.js';
import { createKeyspace } from '../../lib/redis/keys.js';

describe('domain: run statuses and the prefix rule', () => {
  it('run statuses keep the order the indexes and the Lua scripts use; the finished ones are terminal', () => {
    expect(RUN_STATUSES).to.deep.equal(['pending', 'running', 'completed', 'failed', 'cancelled']);
    expect(TERMINAL_RUN_STATUSES).to.deep.equal(['completed', 'failed', 'cancelled']);
    expect(RUN_STATUSES.filter(isTerminalStatus)).to.deep.equal(TERMINAL_RUN_STATUSES);
    expect(RUN_STATUSES.every(isRunStatus)).to.equal(true);
    for (const v of ['done', 'PENDING', '', undefined, 1]) expect(isRunStatus(v), String(v)).to.equal(false);
    expect(createKeyspace('t').statusKeys()).to.deep.equal(RUN_STATUSES.map((s) => `{t}:runs:status:${s}`));
  });

  it('a prefix is 1-64 letters, digits and _ . : -, starting with a letter or digit', () => {
    for (const p of ['wf', 'a', 'tenant-1:prod', 'x.y_z', 'a'.repeat(64)]) {
      expect(isValidPrefix(p), p).to.equal(true);
      expect(prefixProblem(p), p).to.equal(undefined);
    }
    for (const p of ['', '{wf}', 'a b', '-a', 'a'.repeat(65), 'é', undefined, 3]) expect(isValidPrefix(p), String(p)).to.equal(false);
  });

  it('configure(), the key builder and the CLI refuse a bad prefix with the same message, each in its own error type', () => {
    const message = prefixProblem('{bad}');
    expect(message).to.equal(`Invalid prefix "{bad}": use 1-64 letters, digits, '_', '.', ':' or '-' (no braces; the hash tag is added for you).`);
    expect(() => configure({ prefix: '{bad}' })).to.throw(InvalidArgumentError, message);
    expect(() => createKeyspace('{bad}')).to.throw(TypeError, message);
    expect(() => resolveGlobals({ prefix: '{bad}' })).to.throw(CliError, message);
  });
});
