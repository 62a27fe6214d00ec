/** Thread side of the @effect/platform `makePoolSerialized` variant. */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import * as WorkerRunner from "@effect/platform/WorkerRunner"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Request } from "./protocol.js"
import { fib } from "./tasks.mjs"

const handlers = WorkerRunner.layerSerialized(Request, {
  Echo: (req) => Effect.succeed(req.x),
  Fib: (req) => Effect.sync(() => fib(req.x))
})

NodeRuntime.runMain(WorkerRunner.launch(handlers.pipe(Layer.provide(NodeWorkerRunner.layer))))
