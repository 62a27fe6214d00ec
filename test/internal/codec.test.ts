import * as Transferable from "@effect/platform/Transferable"
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Effect, Exit, FastCheck as fc, FiberId, identity, Schema } from "effect"
import { encoder } from "../../src/internal/threads/codec.js"

/** What `encoder` must give: `Schema.encode` run in a fiber that holds its own collector. */
const reference = <A, I>(schema: Schema.Schema<A, I>) => (value: A) =>
  Effect.runSyncExit(Effect.gen(function*() {
    const collector = Transferable.unsafeMakeCollector()
    const payload = yield* Schema.encode(schema)(value).pipe(Effect.provideService(Transferable.Collector, collector))
    return [payload, collector.unsafeRead()] as const
  }))

class Point extends Schema.TaggedRequest<Point>()("Point", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: { x: Schema.Number, label: Schema.optional(Schema.String) }
}) {}

class Blob extends Schema.TaggedRequest<Blob>()("Blob", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: { bytes: Transferable.Uint8Array }
}) {}

const schemas = {
  number: Schema.Number,
  struct: Schema.Struct({ id: Schema.Int, name: Schema.String, tags: Schema.Array(Schema.String) }),
  union: Schema.Union(Schema.Literal("a", "b"), Schema.Tuple(Schema.Boolean, Schema.optionalElement(Schema.Number))),
  record: Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.Number) }),
  transformation: Schema.NumberFromString,
  "a request class": Point,
  "a union of request classes": Schema.Union(Point, Blob),
  "a Transferable field": Schema.Struct({ bytes: Transferable.Uint8Array, n: Schema.Number })
}

/** Fibers created by `f` (fiber ids come from one global counter). */
const fibersIn = (f: () => unknown): number => {
  const before = FiberId.unsafeMake().id
  f()
  return FiberId.unsafeMake().id - before - 1
}

describe("codec encoder", () => {
  for (const [name, schema] of Object.entries(schemas) as Array<[string, Schema.Schema<unknown, unknown>]>) {
    it(`${name}: encodes as Schema.encode does in a fiber with a collector, transferables included`, () => {
      const encode = encoder(schema)
      const expected = reference(schema)
      fc.assert(
        fc.property(fc.oneof(Arbitrary.make(schema), fc.anything()), (value) => {
          const [a, b] = [encode(value), expected(value)]
          if (!Exit.isExit(a)) throw new Error("a sync Schema encoded asynchronously")
          expect(Exit.isSuccess(a)).toBe(Exit.isSuccess(b))
          if (Exit.isSuccess(a) && Exit.isSuccess(b)) expect(a.value).toEqual(b.value)
        }),
        { numRuns: 300 }
      )
    })
  }

  it("an encoding that ran no effect starts no fiber; one through a Transferable does", () => {
    const request = encoder(Schema.Union(Point, Blob) as Schema.Schema<Point | Blob, unknown>)
    const point = new Point({ x: 1 })
    const blob = new Blob({ bytes: new Uint8Array([1]) })
    request(point)
    request(blob)
    expect(fibersIn(() => request(point))).toBe(0)
    expect(fibersIn(() => encoder(Schema.Number)(1))).toBe(0)
    expect(fibersIn(() => request(blob))).toBeGreaterThan(0)
  })

  it("a Transferable field still reports its buffer to be moved, in a class too", () => {
    const bytes = new Uint8Array([1, 2, 3])
    const struct = encoder(Schema.Struct({ bytes: Transferable.Uint8Array, n: Schema.Number }))({ bytes, n: 1 })
    expect(Exit.isExit(struct) && Exit.isSuccess(struct) && struct.value[1]).toEqual([bytes.buffer])
    const inClass = encoder(Blob)(new Blob({ bytes }))
    expect(Exit.isExit(inClass) && Exit.isSuccess(inClass) && inClass.value[1]).toEqual([bytes.buffer])
  })

  it("an identity transformation is only a transformation: its encoding is the Schema's", () => {
    const wrapped = Schema.transform(Schema.Number, Schema.Number, { strict: true, decode: identity, encode: identity })
    expect(encoder(wrapped)(2)).toStrictEqual(Exit.succeed([2, []]))
  })
})
