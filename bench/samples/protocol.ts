/** Schema requests of the supervisor Threads alternative (imported by both sides of the thread). */
import * as Schema from "effect/Schema"

export class Echo extends Schema.TaggedRequest<Echo>()("Echo", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: { x: Schema.Number }
}) {}

export class Fib extends Schema.TaggedRequest<Fib>()("Fib", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: { x: Schema.Number }
}) {}

export const Request = Schema.Union(Echo, Fib)
export type Request = typeof Request.Type
