/**
 * Typed maps: an application describes its events, jobs or channels once as a map from name to
 * payload type, and every call site is checked against it.
 *
 *   type Events = { UserSignedUp: { userId: string }; 'orders.OrderPlaced': { orderId: string } };
 *   bus.emit('UserSignedUp', { userId: '1' });   // ok
 *   bus.emit('UserSignedUp', { id: 1 });         // compile error
 */

/** A map from name to payload type. */
export type MessageMap = Record<string, unknown>;

/** An untyped map: any name, any payload (what a tier uses when no map is given). */
export type AnyMessageMap = Record<string, unknown>;

export type NameOf<M extends MessageMap> = keyof M & string;

export type PayloadOf<M extends MessageMap, K extends NameOf<M>> = M[K];

type Split<S extends string, D extends string> = S extends `${infer Head}${D}${infer Tail}` ? [Head, ...Split<Tail, D>] : [S];

type MatchSegments<N extends string[], P extends string[]> = P extends []
  ? N extends []
    ? true
    : false
  : P extends ['#', ...infer PRest extends string[]]
    ? MatchSegments<N, PRest> extends true
      ? true
      : N extends [string, ...infer NRest extends string[]]
        ? MatchSegments<NRest, P>
        : false
    : P extends [infer PHead extends string, ...infer PRest extends string[]]
      ? N extends [infer NHead extends string, ...infer NRest extends string[]]
        ? PHead extends '*'
          ? MatchSegments<NRest, PRest>
          : NHead extends PHead
            ? MatchSegments<NRest, PRest>
            : false
        : false
      : false;

/** True when the event name matches the bus pattern (`*` one segment, `#` zero or more). */
export type MatchesEventPattern<Name extends string, Pattern extends string> = string extends Name
  ? true
  : MatchSegments<Split<Name, '.'>, Split<Pattern, '.'>>;

/** The event names of M matched by a bus pattern. */
export type EventsMatching<M extends MessageMap, Pattern extends string> = {
  [K in NameOf<M>]: MatchesEventPattern<K, Pattern> extends true ? K : never;
}[NameOf<M>];

/** The union of payloads a bus pattern can deliver. */
export type PayloadMatching<M extends MessageMap, Pattern extends string> = M[EventsMatching<M, Pattern>];

/** Whether a string literal contains a Redis glob character. */
export type IsGlob<S extends string> = S extends `${string}${'*' | '?' | '['}${string}` ? true : false;

type GlobToTemplate<S extends string> = S extends `${infer A}*${infer B}` ? `${A}${string}${GlobToTemplate<B>}` : S;

/** Channel names of M matched by a Redis glob (approximate for `?` and `[...]`: they match any name). */
export type ChannelsMatching<M extends MessageMap, Pattern extends string> = IsGlob<Pattern> extends true
  ? Pattern extends `${string}${'?' | '['}${string}`
    ? NameOf<M>
    : { [K in NameOf<M>]: K extends GlobToTemplate<Pattern> ? K : never }[NameOf<M>]
  : Pattern & NameOf<M>;
