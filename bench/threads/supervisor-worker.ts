/** Thread side of the supervisor Threads variant: the same requests as the platform variant. */
import * as Effect from "effect/Effect"
import * as ThreadRunner from "../../src/ThreadRunner.js"
import { Request } from "./protocol.js"
import { fib } from "./tasks.mjs"

ThreadRunner.serve(Request, {
  Echo: (req) => Effect.succeed(req.x),
  Fib: (req) => Effect.sync(() => fib(req.x))
})
