import { describe, expect, it } from 'vitest';
import { InvalidNameError, InvalidPatternError } from './errors.js';
import {
  compileChannelPattern,
  compileEventPattern,
  validateChannelName,
  validateEventName,
  validateEventPattern,
  validateJobName,
} from './names.js';

function expectError(fn: () => unknown, type: typeof InvalidNameError | typeof InvalidPatternError, message: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(type);
  expect((caught as Error).message).toBe(message);
}

describe('channel names', () => {
  it('accepts ordinary channels', () => {
    expect(validateChannelName('user:42:notifications')).toBe('user:42:notifications');
  });
  it.each([
    ['', 'invalid channel name "": must not be empty'],
    ['a b', 'invalid channel name "a b": contains whitespace or a control character at index 1'],
    ['a\u0000', 'invalid channel name "a\\u0000": contains whitespace or a control character at index 1'],
    ['user:*', 'invalid channel name "user:*": contains the glob character "*" at index 5; subscribe to patterns, broadcast to concrete channels'],
    ['x'.repeat(513), 'invalid channel name "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...": is 513 characters long; the limit is 512'],
  ])('refuses %j', (value, message) => expectError(() => validateChannelName(value), InvalidNameError, message));
  it('refuses a non-string', () => expectError(() => validateChannelName(42), InvalidNameError, 'invalid channel name "42": must be a string, got number'));
});

describe('channel patterns (Redis glob)', () => {
  it.each([
    ['user:*:notifications', 'user:42:notifications', true],
    ['user:*:notifications', 'user:42:messages', false],
    ['events:*', 'events:', true],
    ['h?llo', 'hello', true],
    ['h?llo', 'hllo', false],
    ['h[ae]llo', 'hallo', true],
    ['h[ae]llo', 'hillo', false],
    ['h[^e]llo', 'hallo', true],
    ['h[^e]llo', 'hello', false],
    ['h[a-c]llo', 'hbllo', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['a.b*', 'a.bc', true],
    ['a.b*', 'axbc', false],
  ])('%s matches %s: %s', (pattern, channel, expected) => {
    expect(compileChannelPattern(pattern)(channel)).toBe(expected);
  });
  it.each([
    ['', 'invalid channel pattern "": must not be empty'],
    ['user:[abc', 'invalid channel pattern "user:[abc": "[" at index 5 is never closed'],
    ['user:[]x]', 'invalid channel pattern "user:[]x]": empty character class at index 5'],
    ['a]', 'invalid channel pattern "a]": unmatched "]" at index 1'],
    ['a\\', 'invalid channel pattern "a\\\\": ends with a lone "\\"'],
    ['a *', 'invalid channel pattern "a *": contains whitespace or a control character'],
  ])('refuses %j', (value, message) => expectError(() => compileChannelPattern(value), InvalidPatternError, message));
});

describe('event names', () => {
  it('accepts PascalCase and dotted names', () => {
    expect(validateEventName('UserSignedUp')).toBe('UserSignedUp');
    expect(validateEventName('users.User-Signed_Up2')).toBe('users.User-Signed_Up2');
  });
  it.each([
    ['', 'invalid event name "": must not be empty'],
    ['.User', 'invalid event name ".User": segment 0 is empty (leading, trailing or doubled ".")'],
    ['users..X', 'invalid event name "users..X": segment 1 is empty (leading, trailing or doubled ".")'],
    ['users.*', 'invalid event name "users.*": "*" is a wildcard; emit concrete names, subscribe with patterns'],
    ['users.Sign:Up', 'invalid event name "users.Sign:Up": segment "Sign:Up" may contain only letters, digits, "_" and "-"'],
    ['x'.repeat(256), 'invalid event name "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...": is 256 characters long; the limit is 255'],
  ])('refuses %j', (value, message) => expectError(() => validateEventName(value), InvalidNameError, message));
  it('counts bytes, not characters, against the AMQP limit', () => {
    expectError(() => validateEventName('é'.repeat(200)), InvalidNameError, `invalid event name "${'é'.repeat(200)}": is longer than 255 bytes`);
  });
});

describe('event patterns (AMQP topic syntax)', () => {
  it.each([
    ['UserSignedUp', 'UserSignedUp', true],
    ['UserSignedUp', 'UserDeleted', false],
    ['users.*', 'users.SignedUp', true],
    ['users.*', 'users.a.b', false],
    ['users.*', 'users', false],
    ['users.#', 'users', true],
    ['users.#', 'users.a.b', true],
    ['#', 'anything.at.all', true],
    ['#.Created', 'orders.Created', true],
    ['#.Created', 'Created', true],
    ['#.Created', 'orders.Deleted', false],
    ['a.#.z', 'a.z', true],
    ['a.#.z', 'a.b.c.z', true],
    ['a.#.z', 'a.b.c', false],
    ['*.*', 'a.b', true],
    ['*.*', 'a', false],
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(compileEventPattern(pattern)(name)).toBe(expected);
  });
  it.each([
    ['', 'invalid event pattern "": must not be empty'],
    ['users.', 'invalid event pattern "users.": segment 1 is empty (leading, trailing or doubled ".")'],
    ['users.Sign*', 'invalid event pattern "users.Sign*": "Sign*": "*" and "#" must stand alone as a whole segment'],
    ['users.a b', 'invalid event pattern "users.a b": segment "a b" may contain only letters, digits, "_" and "-"'],
    ['user:*', 'invalid event pattern "user:*": "user:*": "*" and "#" must stand alone as a whole segment'],
    ['users:x', 'invalid event pattern "users:x": segment "users:x" may contain only letters, digits, "_" and "-"'],
  ])('refuses %j', (value, message) => expectError(() => validateEventPattern(value), InvalidPatternError, message));
});

describe('job names', () => {
  it('accepts camelCase commands', () => {
    expect(validateJobName('sendWelcomeEmail')).toBe('sendWelcomeEmail');
    expect(validateJobName('email:send.v2')).toBe('email:send.v2');
  });
  it.each([
    ['', 'invalid job name "": must not be empty'],
    ['1job', 'invalid job name "1job": must start with a letter or "_" and contain only letters, digits, "_", ".", ":" and "-"'],
    ['send email', 'invalid job name "send email": contains whitespace or a control character at index 4'],
    ['x'.repeat(129), 'invalid job name "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...": is 129 characters long; the limit is 128'],
  ])('refuses %j', (value, message) => expectError(() => validateJobName(value), InvalidNameError, message));
});
