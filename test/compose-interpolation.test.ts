// doctor reads the compose file the way Compose substitutes variables, so the ports it compares are the
// ports Compose would publish.
import { describe, expect, it } from 'vitest';
import { interpolateDefaults, parsePorts } from '../src/checks/compose.js';

describe('compose variable substitution', () => {
  const env = { SET: '4317', EMPTY: '' };
  it('applies :- when the variable is unset or empty, and - only when unset', () => {
    expect(interpolateDefaults('${SET:-1} ${EMPTY:-2} ${UNSET:-3}', env)).toBe('4317 2 3');
    expect(interpolateDefaults('${SET-1} ${EMPTY-2} ${UNSET-3}', env)).toBe('4317  3');
  });
  it('reads a bare variable, and $$ as a literal $', () => {
    expect(interpolateDefaults('${SET} ${UNSET} $$HOME', env)).toBe('4317  $HOME');
  });
  it('finds published ports behind variables', () => {
    expect(parsePorts(['127.0.0.1:${OTLP_PORT:-14317}:4317', { target: 4318, published: '${UNSET-14318}', host_ip: '127.0.0.1' }])).toEqual([
      { hostIp: '127.0.0.1', host: 14317, container: 4317 },
      { hostIp: '127.0.0.1', host: 14318, container: 4318 },
    ]);
  });
});
