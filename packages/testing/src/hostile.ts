/**
 * Values a handler may throw that are hard to read: anything at all (`undefined` included), an
 * Error with any name, an object without a prototype, an Error whose `name` getter throws. For the
 * property tests that check a failure is still counted, journaled and survived.
 */
import fc from 'fast-check';

export function hostileThrown(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.anything(),
    fc.constant(undefined),
    fc.string().map((name) => Object.assign(new Error('named'), { name })),
    fc.constant(Object.create(null) as unknown),
    fc.constant(
      Object.defineProperty(new Error('getter'), 'name', {
        get() {
          throw new Error('no name');
        },
      }) as unknown,
    ),
  );
}
