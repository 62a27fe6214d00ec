import * as Transferable from "@effect/platform/Transferable"
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Exit, FastCheck as fc, identity, Schema } from "effect"
import { encoder } from "../../src/internal/threads/codec.js"

/** The same encoding through a transformation: `encoder` takes its collector path for it. */
const throughCollector = <A, I>(schema: Schema.Schema<A, I>) =>
  Schema.transform(schema, Schema.typeSchema(schema), { strict: true, decode: identity, encode: identity })

const pure = {
  number: Schema.Number,
  struct: Schema.Struct({ id: Schema.Int, name: Schema.String, tags: Schema.Array(Schema.String) }),
  union: Schema.Union(Schema.Literal("a", "b"), Schema.Tuple(Schema.Boolean, Schema.optionalElement(Schema.Number))),
  record: Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.Number) })
}

describe("codec encoder", () => {
  for (const [name, schema] of Object.entries(pure) as Array<[string, Schema.Schema<unknown, unknown>]>) {
    it(`a pure Schema (${name}) encodes as its collector path does, with no transferables`, () => {
      const fast = encoder(schema)
      const slow = encoder(throughCollector(schema))
      fc.assert(
        fc.property(fc.oneof(Arbitrary.make(schema), fc.anything()), (value) => {
          const [a, b] = [fast(value), slow(value)]
          if (!Exit.isExit(a) || !Exit.isExit(b)) throw new Error("a sync Schema encoded asynchronously")
          expect(Exit.isSuccess(a)).toBe(Exit.isSuccess(b))
          if (Exit.isSuccess(a) && Exit.isSuccess(b)) expect(a.value).toEqual(b.value)
        }),
        { numRuns: 500 }
      )
    })
  }

  it("a Transferable field still reports its buffer to be moved", () => {
    const encode = encoder(Schema.Struct({ bytes: Transferable.Uint8Array, n: Schema.Number }))
    const bytes = new Uint8Array([1, 2, 3])
    const encoded = encode({ bytes, n: 1 })
    expect(Exit.isExit(encoded) && Exit.isSuccess(encoded) && encoded.value[1]).toEqual([bytes.buffer])
  })
})
