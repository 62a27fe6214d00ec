/**
 * A handler whose resource runs a whole chunk of tasks in one call: `Threads.handler` on a
 * thread. The worker hands the chunk's tasks to the resource at once; the thread client sends
 * them as one message, the thread runs them one after another (still one task at a time per
 * thread) and replies to the ones that ended together in one message. Each task still ends in
 * exactly one outcome of its own, recorded as its reply arrives — without a fiber per task,
 * which costs more here than the round trip it would wrap. When the resource can send without
 * an effect (`ChunkRunner.now`), a chunk's last reply sends the worker's next chunk itself.
 *
 * Only for a bare attempt: a `timeout` starts with its attempt (a chunk's later tasks would wait
 * on the thread behind the earlier ones), and `retry`, `rateLimit`, spans and cancellable
 * handles each need the task's own fiber. With any of them the worker starts one task at a time.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import { WorkerCrashed } from "../Errors.js"

/** On the handler: the worker may hand its resource whole chunks (see above). @internal */
export const ChunkedHandler: unique symbol = Symbol.for("effect-supervisor/ChunkedHandler") as never

/** On the resource: its `ChunkRunner`. @internal */
export const ChunkedResource: unique symbol = Symbol.for("effect-supervisor/ChunkedResource") as never

/** Task `i` of a chunk ended. @internal */
export type ChunkExit = (i: number, exit: Exit.Exit<unknown, unknown>) => void

/** What a resource that runs whole chunks offers its worker. @internal */
export interface ChunkRunner<T> {
  /**
   * Sends the tasks and returns the effect that waits for them: `onExit` is called once per
   * task as it ends, and the wait completes once every task has. Interrupted, the wait
   * interrupts every task still running on the resource (this chunk's and any sent after it)
   * and completes once they have stopped; `onExit` may not be called for those (the caller
   * records them).
   */
  readonly run: (tasks: ReadonlyArray<T>, onExit: ChunkExit) => Effect.Effect<Effect.Effect<void>>
  /**
   * Sends the tasks at once, without an effect, when it can (the thread is up and every task
   * encodes synchronously): `launch` is called first, before any `onExit`; `landed` once every
   * task has ended, with an effect to run first when some reply decodes only through one.
   * Returns the effect that interrupts every task still running on the resource (as an
   * interrupted wait of `run` does), or undefined when it sent nothing and called nothing.
   */
  readonly now: (
    tasks: ReadonlyArray<T>,
    onExit: ChunkExit,
    launch: () => void,
    landed: (later: Effect.Effect<void> | undefined) => void
  ) => Effect.Effect<void> | undefined
  /**
   * Set when the resource died before the worker's next task (its thread exited while idle):
   * the worker restarts without starting the task, which goes back to the queue. Asked before
   * each task the worker starts on its own (per-task sending), whose handler could otherwise
   * not tell a thread that was dead before it began from one that died under it.
   */
  readonly dead: () => WorkerCrashed | undefined
}

/** @internal */
export const isChunkedHandler = (handler: unknown): boolean =>
  typeof handler === "function" && (handler as { [ChunkedHandler]?: unknown })[ChunkedHandler] === true

/** The resource's chunk runner, if it has one. @internal */
export const chunkRunner = <T>(resource: unknown): ChunkRunner<T> | undefined =>
  typeof resource === "object" && resource !== null && ChunkedResource in resource
    ? (resource as { [ChunkedResource]: ChunkRunner<T> })[ChunkedResource]
    : undefined

/**
 * The cause of the `WorkerCrashed` a chunked call fails with when its thread died before it
 * started the request (it waited behind the one that crashed the thread): the worker puts the
 * task back in the queue instead of recording an outcome, so one poison task costs only
 * itself, as it does when tasks are sent one at a time.
 *
 * @internal
 */
export class NotStarted extends Error {}

/** The attempt ended because its thread died before starting it (see `NotStarted`). @internal */
export const notStarted = (cause: Cause.Cause<unknown>): WorkerCrashed | undefined => {
  const failure = Cause.failureOption(cause)
  return failure._tag === "Some" && failure.value instanceof WorkerCrashed && failure.value.cause instanceof NotStarted
    ? failure.value
    : undefined
}
