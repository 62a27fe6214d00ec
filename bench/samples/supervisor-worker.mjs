// The supervisor's thread, in plain JS as a user ships it: the built package and the compiled
// request schemas (protocol.js sits next to this file in the bench build).
import * as Effect from "effect/Effect"
import { ThreadRunner } from "effect-supervisor/threads"
import { Request } from "./protocol.js"
import { fib } from "./tasks.mjs"

ThreadRunner.serve(Request, {
  Echo: (req) => Effect.succeed(req.x),
  Fib: (req) => Effect.sync(() => fib(req.x))
})
