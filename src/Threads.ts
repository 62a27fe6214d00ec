/**
 * Worker-thread offload, main side: each supervisor worker owns one worker thread.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import type * as ParseResult from "effect/ParseResult"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as WT from "node:worker_threads"
import type { InvalidOptions, TaskError, ThreadStartFailed, WorkerCrashed } from "./Errors.js"
import * as client from "./internal/threads/client.js"
import * as specs from "./internal/threads/spec.js"
import type { Supervisor } from "./Supervisor.js"

export {
  /**
   * A worker thread could not start (bad file, failing thread-side layer, exit before ready,
   * `startTimeout`); the same class as `Errors.ThreadStartFailed`.
   *
   * @since 0.1.0
   */
  ThreadStartFailed
} from "./Errors.js"

/**
 * What a thread runs and how it is handled: the worker file, the request Schema, `grace` and
 * `startTimeout`.
 *
 * When to use: build one and pass it to `offload` (or to `resource`).
 *
 * Details:
 * - `file`: the worker file (it calls `ThreadRunner.serve`): a `URL` (usually
 *   `new URL("./worker.ts", import.meta.url)`), a `file:` URL string, or a path (relative paths
 *   resolve against the current directory). A name ending in `.ts` / `.mts` / `.cts` is loaded
 *   through tsx (an optional peer dependency), so the same file runs under tsx, vitest and
 *   compiled JS.
 * - `schema`: the union of the `Schema.TaggedRequest` classes the thread serves; tasks are
 *   encoded with it (a task that does not fit fails with a `ParseError` and is never sent).
 * - `grace` (default 1 second): how long an interrupted request (timeout, shutdown) or a closing
 *   thread may take to stop before the thread is terminated.
 * - `startTimeout` (default 30 seconds, real time like `grace`): a thread not ready by then is
 *   terminated and its start fails with `ThreadStartFailed`. A start is tried once: nothing
 *   on this side retries it, so under a supervisor every failed start is one failed
 *   acquisition that the restart policy counts (and escalates on).
 * - `workerOptions`: passed to `new Worker(…)` (`resourceLimits`, `env`, `name`, …).
 * - `layerError`: the Schema of the thread-side layer's typed failure (a `Schema.TaggedError`
 *   class, or a union of them). The thread encodes a failure that is an instance of a Schema
 *   class with its class; with `layerError` the start fails with that error, rebuilt as the
 *   same class, so `Effect.catchTag` works on it. Without `layerError`, or when the failure is
 *   not a Schema class instance (a string, a plain `Error`), only its pretty-printed text
 *   crosses the thread, as the `cause` of `ThreadStartFailed`.
 * - A spec is checked when `resource` / `offload` is called, without throwing: a bad one (a
 *   `grace` that is no duration, a negative one, a `startTimeout` <= 0, a `file` that is no
 *   URL or path) makes every acquisition fail at once with `Errors.InvalidOptions` naming the
 *   field, before any thread starts.
 *
 * Gotchas: `workerData` and `eval` are reserved (the TypeScript entry uses `workerData`).
 * Under a supervisor the `InvalidOptions` arrives as an acquisition failure: the restart
 * policy escalates (`Escalated`, with it as the cause) after `maxRestarts` quick retries.
 *
 * @example
 * ```ts
 * import { Threads } from "effect-supervisor/threads"
 * import { HashRequest } from "./requests.js"
 *
 * const spec: Threads.Spec<HashRequest> = {
 *   file: new URL("./hash-worker.ts", import.meta.url),
 *   schema: HashRequest,
 *   grace: "500 millis"
 * }
 * ```
 *
 * @since 0.1.0
 */
export interface Spec<A extends Schema.TaggedRequest.All, LE = never> {
  readonly file: string | URL
  readonly schema: Schema.Schema<A, any, never>
  readonly layerError?: Schema.Schema<LE, any, never> | undefined
  readonly grace?: Duration.DurationInput | undefined
  readonly startTimeout?: Duration.DurationInput | undefined
  readonly workerOptions?: Omit<WT.WorkerOptions, "eval" | "workerData"> | undefined
}

/**
 * One worker thread, as a supervisor worker's resource.
 *
 * When to use: you get it from `resource`; `handler` calls `execute` for you. Call `execute`
 * yourself for a precisely typed result when you use a thread outside a supervisor.
 *
 * Details:
 * - `execute(request)`: encodes the request, runs it on the thread, decodes the reply. Fails
 *   with the request's own typed failure (the same class), a `ParseError` (the request does not
 *   fit its Schema; nothing was sent), or `WorkerCrashed` (the thread exited or threw; the
 *   supervisor restarts the worker). A defect in the handler is a defect here (the thread
 *   carries on). Interrupting it interrupts the request inside the thread; a thread that has
 *   not answered within `grace` is terminated and replaced by a new thread, which the next
 *   call waits for.
 * - `threadId`: the `threadId` of the thread calls go to now (waits for a replacement).
 * - A request may be a plain object `{ _tag, ...fields }` (from JavaScript or JSON): once the
 *   union encodes it, its reply is decoded with the Schemas of its tag's class.
 * - The port between the threads carries the protocol only. A thread that posts anything else
 *   on `parentPort` (code or a library on the thread writing to it) is broken: a stray message
 *   could pass for a reply. It is terminated and every call in flight on it fails with
 *   `WorkerCrashed` (the cause quotes the message), so the supervisor replaces it under the
 *   restart policy. Nothing a thread sends can throw in the host or leave a call unsettled.
 *
 * Gotchas: after a thread is replaced, the next call's time includes the new thread's start-up
 * (about 1 s, more through tsx), so a per-attempt `timeout` should exceed it. A thread that
 * dies while idle is not replaced: the next call fails with `WorkerCrashed` so the restart
 * policy (with its intensity limit) decides. Use a `MessageChannel` of your own, not
 * `parentPort`, to talk to the main side outside the requests.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Threads } from "effect-supervisor/threads"
 * import { Square } from "./requests.js"
 *
 * const program = Effect.scoped(
 *   Effect.flatMap(
 *     Threads.resource({ file: new URL("./square-worker.ts", import.meta.url), schema: Square }),
 *     (thread) => thread.execute(new Square({ n: 7 }))
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 */
export interface Thread<A extends Schema.TaggedRequest.All> {
  readonly execute: <Req extends A>(
    request: Req
  ) => Effect.Effect<
    Schema.WithResult.Success<Req>,
    Schema.WithResult.Failure<Req> | ParseResult.ParseError | WorkerCrashed
  >
  readonly threadId: Effect.Effect<number, WorkerCrashed>
}

/**
 * Acquires exactly one worker thread in the current `Scope`: the supervisor's `resource`.
 *
 * When to use: as `resource` in `Supervisor.make` / `Supervisor.run` (or through `offload`),
 * so each worker fiber owns one thread and the restart policy governs threads too; or in
 * `Effect.scoped` to use one thread directly.
 *
 * Details: spawns the thread and waits until it is ready (its per-thread layer built). Closing
 * the scope asks the thread to stop (its thread-side finalizers run) and terminates it if it
 * has not exited within `grace` — never the platform's fixed 5 s.
 *
 * Gotchas: fails with `ThreadStartFailed`, never hangs, when the thread cannot start; a
 * supervisor treats that like any failed acquisition (restart with backoff, then escalate).
 * Fails with `Errors.InvalidOptions` (and starts nothing) when the spec is not valid.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Threads } from "effect-supervisor/threads"
 * import { Square } from "./requests.js"
 *
 * const squared = Effect.scoped(
 *   Effect.flatMap(
 *     Threads.resource({ file: new URL("./square-worker.ts", import.meta.url), schema: Square }),
 *     (thread) => thread.execute(new Square({ n: 3 }))
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 */
export const resource = <A extends Schema.TaggedRequest.All, LE = never>(
  spec: Spec<A, LE>
): Effect.Effect<Thread<A>, ThreadStartFailed | InvalidOptions | LE, Scope.Scope> => {
  const validated = specs.validate<LE>(spec)
  return Either.isLeft(validated) ? Effect.fail(validated.left) : client.make<A, LE>(validated.right)
}

/**
 * The supervisor handler that runs a task on the worker's thread: `thread.execute(task)`.
 *
 * When to use: as `handler` next to `resource` (or through `offload`).
 *
 * Details: the task is a request instance; the result is its success, the error its typed
 * failure, a `ParseError` or `WorkerCrashed` (see `Thread.execute`).
 *
 * Gotchas: the supervisor's `timeout` interrupts the request in the thread first and
 * terminates the thread after `grace`; the attempt ends `TaskTimeout` either way.
 *
 * @example
 * ```ts
 * import * as os from "node:os"
 * import { Supervisor } from "effect-supervisor"
import { Threads } from "effect-supervisor/threads"
 * import { Square } from "./requests.js"
 *
 * const spec = { file: new URL("./square-worker.ts", import.meta.url), schema: Square }
 * const summary = Supervisor.run([new Square({ n: 2 })], {
 *   workers: os.availableParallelism(),
 *   resource: Threads.resource(spec),
 *   handler: Threads.handler
 * })
 * ```
 *
 * @since 0.1.0
 */
export const handler = <A extends Schema.TaggedRequest.All>(
  task: A,
  thread: Thread<A>
): Effect.Effect<
  Schema.WithResult.Success<A>,
  Schema.WithResult.Failure<A> | ParseResult.ParseError | WorkerCrashed
> => thread.execute(task)

/**
 * `resource` and `handler` for a spec, ready to spread into the supervisor's options.
 *
 * When to use: the short form: `Supervisor.make({ workers: n, ...Threads.offload(spec) })`.
 *
 * Details: `{ resource: resource(spec), handler }` with the types fixed to the spec's requests.
 *
 * Gotchas: each worker owns one thread: `workers` is the number of threads
 * (`os.availableParallelism()` is a good default for CPU-bound work).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as os from "node:os"
 * import { Supervisor } from "effect-supervisor"
import { Threads } from "effect-supervisor/threads"
 * import { Square } from "./requests.js"
 *
 * const program = Effect.gen(function*() {
 *   const summary = yield* Supervisor.run([1, 2, 3].map((n) => new Square({ n })), {
 *     workers: os.availableParallelism(),
 *     ...Threads.offload({ file: new URL("./square-worker.ts", import.meta.url), schema: Square })
 *   })
 *   return summary.stats.succeeded
 * })
 * ```
 *
 * @since 0.1.0
 */
export const offload = <A extends Schema.TaggedRequest.All, LE = never>(spec: Spec<A, LE>): {
  readonly resource: Effect.Effect<Thread<A>, ThreadStartFailed | InvalidOptions | LE, Scope.Scope>
  readonly handler: (
    task: A,
    thread: Thread<A>
  ) => Effect.Effect<
    Schema.WithResult.Success<A>,
    Schema.WithResult.Failure<A> | ParseResult.ParseError | WorkerCrashed
  >
} => ({ resource: resource(spec), handler })

/**
 * `supervisor.execute(request)` typed by the request's own class: its `success` and `failure`,
 * not the union over every request the supervisor serves.
 *
 * When to use: with a supervisor built from `offload` (or `resource` + `handler`) over a union
 * of requests, wherever you await one task's result: `supervisor.execute(new Info())` is typed
 * with every request's success; `Threads.execute(supervisor, new Info())` with `Info`'s.
 *
 * Details: the same call as `supervisor.execute` (submit, await this task's outcome), only
 * typed precisely: `Schema.WithResult.Success<Req>`, and `Schema.WithResult.Failure<Req>`, a
 * `ParseError` (the request does not fit its Schema) or a `TaskError` (`WorkerCrashed`,
 * `TaskTimeout`, …). Data-first and data-last (`pipe(supervisor, Threads.execute(request))`).
 *
 * Gotchas: the type holds for a supervisor whose handler is `Threads.handler` (what `offload`
 * gives): its success and error types must be the union's, which the signature checks. A
 * handler of your own that maps results is not accepted. `combine` still sees the union of
 * successes: narrow it with the task's `_tag`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 * import { Threads } from "effect-supervisor/threads"
 * import { Request, Square } from "./requests.js"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const supervisor = yield* Supervisor.make({
 *     workers: 2,
 *     ...Threads.offload({ file: new URL("./worker.ts", import.meta.url), schema: Request })
 *   })
 *   const squared: number = yield* Threads.execute(supervisor, new Square({ n: 3 }))
 *   return squared
 * }))
 * ```
 *
 * @category execution
 * @since 0.1.0
 */
export const execute: {
  <Req extends Schema.TaggedRequest.All>(
    request: Req
  ): <T extends Schema.TaggedRequest.All, S>(
    supervisor: ThreadSupervisor<T | Req, S>
  ) => Effect.Effect<Schema.WithResult.Success<Req>, ExecuteError<Req>>
  <T extends Schema.TaggedRequest.All, S, Req extends T>(
    supervisor: ThreadSupervisor<T, S>,
    request: Req
  ): Effect.Effect<Schema.WithResult.Success<Req>, ExecuteError<Req>>
} = dual(
  2,
  <T extends Schema.TaggedRequest.All, S, Req extends T>(
    supervisor: ThreadSupervisor<T, S>,
    request: Req
  ): Effect.Effect<Schema.WithResult.Success<Req>, ExecuteError<Req>> =>
    supervisor.execute(request) as Effect.Effect<Schema.WithResult.Success<Req>, ExecuteError<Req>>
)

/**
 * A supervisor whose handler runs requests of the union `T` on threads (`offload`'s types).
 *
 * @category models
 * @since 0.1.0
 */
export type ThreadSupervisor<T extends Schema.TaggedRequest.All, S = void> = Supervisor<
  T,
  Schema.WithResult.Success<T>,
  Schema.WithResult.Failure<T> | ParseResult.ParseError | WorkerCrashed,
  S
>

/**
 * What `execute` can fail with for one request class.
 *
 * @category models
 * @since 0.1.0
 */
export type ExecuteError<Req extends Schema.TaggedRequest.All> =
  | Schema.WithResult.Failure<Req>
  | ParseResult.ParseError
  | TaskError
