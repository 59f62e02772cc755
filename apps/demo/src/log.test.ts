import { expect, it } from 'vitest';
import { createLogger } from './log.js';

it('escapes control characters, so a value cannot forge a log line or reach the terminal raw', () => {
  const lines: string[] = [];
  const log = createLogger('users', { write: (text) => void lines.push(text) });
  log('signup \u001b[2J\u001b[31mada@example.com\r\n12:00:00.000 [users] signup forged@example.com\u2028\u0085');
  expect(lines).toHaveLength(1);
  const line = lines[0]!;
  // One line only, ending with the logger's own newline.
  expect(line.indexOf('\n')).toBe(line.length - 1);
  expect(line).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028]/);
  expect(line).toContain('signup \\u001b[2J\\u001b[31mada@example.com\\u000d\\u000a12:00:00.000 [users] signup forged@example.com\\u2028\\u0085');
});
