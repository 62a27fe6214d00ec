/**
 * Worker-thread offload, main side: each supervisor worker owns one worker thread, and tasks
 * are Schema-typed requests that a worker file (`ThreadRunner.serve`) answers.
 *
 * `Supervisor.make({ workers: n, ...Threads.offload(spec) })` is the short form; `resource`
 * and `handler` are its two halves, and `execute` types one request's result precisely. The
 * examples that start threads are single files that are both sides: on the main thread they
 * start themselves (`new URL(import.meta.url)`) as the worker file, on the thread they call
 * `ThreadRunner.serve`. A project usually keeps the requests in one module and the worker in
 * another, and imports the requests on both sides.
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
import * as Errors from "./Errors.js"
import type { InvalidOptions, TaskError, WorkerCrashed } from "./Errors.js"
import { ChunkedHandler } from "./internal/chunked.js"
import * as client from "./internal/threads/client.js"
import * as specs from "./internal/threads/spec.js"
import type { Supervisor } from "./Supervisor.js"

/**
 * A worker thread could not start (a file that fails to load, a failing thread-side layer, an
 * exit before ready, `startTimeout`); the same class as `Errors.ThreadStartFailed`. A file that
 * does not exist is `InvalidOptions` before any thread starts.
 *
 * When to use: `Effect.catchTag("ThreadStartFailed", …)` around `resource` when you acquire a
 * thread yourself; under a supervisor a failed start is a failed acquisition, which the restart
 * policy retries and, past its limits, escalates.
 *
 * Details: `file` names the worker file, `cause` is what the thread reported (the load error,
 * the thread-side layer's pretty-printed cause, or an `Error` naming the exit code or the
 * timeout).
 *
 * Gotchas: a thread that starts and dies later is not a start failure: the request in flight
 * fails with `WorkerCrashed`. A thread-side layer failure named in the spec's `layerError`
 * arrives as that error instead.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Threads } from "effect-supervisor/threads"
 *
 * class Ping extends Schema.TaggedRequest<Ping>()("Ping", {
 *   failure: Schema.Never,
 *   success: Schema.String,
 *   payload: {}
 * }) {}
 *
 * // a worker file that throws while it loads: the acquisition fails (it never hangs)
 * const broken = new URL("data:text/javascript,throw new Error('no model file')")
 * const program = Effect.scoped(Threads.resource({ file: broken, schema: Ping })).pipe(
 *   Effect.as("started"),
 *   Effect.catchTag("ThreadStartFailed", (error: Threads.ThreadStartFailed) => Effect.succeed(error._tag))
 * )
 *
 * Effect.runPromise(program).then(console.log) // ThreadStartFailed
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export const ThreadStartFailed: typeof Errors.ThreadStartFailed = Errors.ThreadStartFailed

/**
 * The type of a `ThreadStartFailed` error (the same as `Errors.ThreadStartFailed`).
 *
 * @example
 * ```ts
 * import { Errors } from "effect-supervisor"
 * import { Threads } from "effect-supervisor/threads"
 *
 * const failed: Threads.ThreadStartFailed = new Errors.ThreadStartFailed({ file: "w.ts", cause: "exit 1" })
 *
 * console.log(failed instanceof Threads.ThreadStartFailed) // true
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export type ThreadStartFailed = Errors.ThreadStartFailed

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
 * - `workerOptions`: passed to `new Worker(…)` (`resourceLimits`, `env`, `name`, …). A thread
 *   starts with an 8 MB young generation unless `resourceLimits.maxYoungGenerationSizeMb` is
 *   given (V8's default lets each thread's grow to ~48 MB).
 * - `layerError`: the Schema of the thread-side layer's typed failure (a `Schema.TaggedError`
 *   class, or a union of them). The thread encodes a failure that is an instance of a Schema
 *   class with its class; with `layerError` the start fails with that error, rebuilt as the
 *   same class, so `Effect.catchTag` works on it. Without `layerError`, or when the failure is
 *   not a Schema class instance (a string, a plain `Error`), only its pretty-printed text
 *   crosses the thread, as the `cause` of `ThreadStartFailed`.
 * - A spec is checked when `resource` / `offload` is called, without throwing: a bad one (a
 *   `grace` that is no duration, a negative one, a `startTimeout` <= 0, a `file` that is no
 *   URL or path, or names no file) makes every acquisition fail at once with
 *   `Errors.InvalidOptions` naming the field, before any thread starts.
 *
 * Gotchas: `workerData` and `eval` are reserved (the TypeScript entry uses `workerData`).
 * Under a supervisor the `InvalidOptions` arrives as an acquisition failure: the restart
 * policy escalates (`Escalated`, with it as the cause) after `maxRestarts` quick retries.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Threads } from "effect-supervisor/threads"
 *
 * class Resize extends Schema.TaggedRequest<Resize>()("Resize", {
 *   failure: Schema.Never,
 *   success: Schema.Number,
 *   payload: { path: Schema.String, width: Schema.Number }
 * }) {}
 *
 * const spec: Threads.Spec<Resize> = {
 *   file: new URL("./resize-worker.ts", import.meta.url),
 *   schema: Resize,
 *   grace: "500 millis", // an interrupted request gets this long before the thread is terminated
 *   startTimeout: "10 seconds",
 *   workerOptions: { resourceLimits: { maxOldGenerationSizeMb: 256 } }
 * }
 *
 * // a spec is checked before any thread starts: a bad field fails the acquisition at once
 * const bad = Effect.scoped(Threads.resource({ ...spec, grace: -1 })).pipe(Effect.flip)
 *
 * Effect.runPromise(bad).then((error) => console.log(error.message)) // Threads spec: grace must be a finite duration >= 0 (e.g. "500 millis"), got -1
 * ```
 *
 * @category models
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
 * import { Effect, Schema } from "effect"
 * import { isMainThread } from "node:worker_threads"
 * import { ThreadRunner, Threads } from "effect-supervisor/threads"
 *
 * class Negative extends Schema.TaggedError<Negative>()("Negative", { n: Schema.Number }) {}
 *
 * class Sqrt extends Schema.TaggedRequest<Sqrt>()("Sqrt", {
 *   failure: Negative,
 *   success: Schema.Number,
 *   payload: { n: Schema.Number }
 * }) {}
 *
 * // one file, both sides: the main thread starts this same file as its worker thread
 * if (isMainThread) {
 *   const program = Effect.scoped(Effect.gen(function*() {
 *     const thread: Threads.Thread<Sqrt> = yield* Threads.resource({ file: new URL(import.meta.url), schema: Sqrt })
 *     const root = yield* thread.execute(new Sqrt({ n: 16 }))
 *     // the thread's typed failure arrives as the same class: catchTag works
 *     const refused = yield* thread.execute(new Sqrt({ n: -1 })).pipe(
 *       Effect.catchTag("Negative", (error) => Effect.succeed(`no root of ${error.n}`))
 *     )
 *     return `${root}, ${refused}`
 *   }))
 *   Effect.runPromise(program).then(console.log) // 4, no root of -1
 * } else {
 *   ThreadRunner.serve(Sqrt, {
 *     Sqrt: ({ n }) => n < 0 ? Effect.fail(new Negative({ n })) : Effect.succeed(Math.sqrt(n))
 *   })
 * }
 * ```
 *
 * @category models
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
 * import { Effect, Schema } from "effect"
 * import { isMainThread, threadId } from "node:worker_threads"
 * import { ThreadRunner, Threads } from "effect-supervisor/threads"
 *
 * class WhereAmI extends Schema.TaggedRequest<WhereAmI>()("WhereAmI", {
 *   failure: Schema.Never,
 *   success: Schema.Boolean,
 *   payload: {}
 * }) {}
 *
 * // one file, both sides: the main thread starts this same file as its worker thread
 * if (isMainThread) {
 *   // the thread lives as long as the scope: closing it stops the thread
 *   const program = Effect.scoped(
 *     Effect.flatMap(
 *       Threads.resource({ file: new URL(import.meta.url), schema: WhereAmI }),
 *       (thread) =>
 *         Effect.all([thread.execute(new WhereAmI()), thread.threadId]).pipe(
 *           Effect.map(([onWorker, id]) => `on a worker thread: ${onWorker}, not this one: ${id !== threadId}`)
 *         )
 *     )
 *   )
 *   Effect.runPromise(program).then(console.log) // on a worker thread: true, not this one: true
 * } else {
 *   ThreadRunner.serve(WhereAmI, { WhereAmI: () => Effect.sync(() => !isMainThread) })
 * }
 * ```
 *
 * @category constructors
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
 * When to use: as `handler` next to `resource` (or through `offload`, which pairs them).
 *
 * Details: the task is a request instance; the result is its success, the error its typed
 * failure, a `ParseError` or `WorkerCrashed` (see `Thread.execute`). With this handler and no
 * `timeout`, `retry`, `rateLimit` or spans, a worker sends its thread a chunk of tasks per
 * message (two chunks in flight), which the thread runs one at a time; each task still ends in
 * its own outcome, and a thread that dies hands back the tasks it never began.
 *
 * Gotchas: it is generic, so name the request type (`Threads.handler<Square>`) when a
 * `combine` needs the result type: passed bare, the supervisor's success type is `unknown`
 * (`offload` fixes both halves to the spec's requests). The supervisor's `timeout` interrupts
 * the request in the thread first and terminates the thread after `grace`; the attempt ends
 * `TaskTimeout` either way.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { isMainThread } from "node:worker_threads"
 * import { Supervisor } from "effect-supervisor"
 * import { ThreadRunner, Threads } from "effect-supervisor/threads"
 *
 * class Square extends Schema.TaggedRequest<Square>()("Square", {
 *   failure: Schema.Never,
 *   success: Schema.Number,
 *   payload: { n: Schema.Number }
 * }) {}
 *
 * // one file, both sides: the main thread starts this same file on each worker thread
 * if (isMainThread) {
 *   const spec = { file: new URL(import.meta.url), schema: Square }
 *   const program = Supervisor.run([1, 2, 3, 4].map((n) => new Square({ n })), {
 *     workers: 2, // each worker fiber owns one thread
 *     resource: Threads.resource(spec),
 *     handler: Threads.handler<Square>, // typed by the request, so combine sees numbers
 *     timeout: "30 seconds", // per attempt: interrupts the request in the thread first
 *     initial: 0,
 *     combine: (sum, squared) => sum + squared
 *   })
 *   Effect.runPromise(program).then((summary) => console.log(summary.state)) // 30
 * } else {
 *   ThreadRunner.serve(Square, { Square: ({ n }) => Effect.succeed(n * n) })
 * }
 * ```
 *
 * @category execution
 * @since 0.1.0
 */
export const handler = <A extends Schema.TaggedRequest.All>(
  task: A,
  thread: Thread<A>
): Effect.Effect<
  Schema.WithResult.Success<A>,
  Schema.WithResult.Failure<A> | ParseResult.ParseError | WorkerCrashed
> => thread.execute(task)

// the supervisor may start a chunk's tasks together with this handler (see internal/chunked.ts)
Object.defineProperty(handler, ChunkedHandler, { value: true })

/**
 * `resource` and `handler` for a spec, ready to spread into the supervisor's options.
 *
 * When to use: the short form: `Supervisor.make({ workers: n, ...Threads.offload(spec) })`.
 *
 * Details: `{ resource: resource(spec), handler }` with the types fixed to the spec's requests.
 *
 * Gotchas: each worker owns one thread: `workers` is the number of threads
 * (`os.availableParallelism()` is a good default for CPU-bound work). With a union of requests,
 * `supervisor.execute` is typed with the union of their successes: use `Threads.execute` for
 * one request's own type.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { isMainThread } from "node:worker_threads"
 * import { Supervisor } from "effect-supervisor"
 * import { ThreadRunner, Threads } from "effect-supervisor/threads"
 *
 * class Words extends Schema.TaggedRequest<Words>()("Words", {
 *   failure: Schema.Never,
 *   success: Schema.Number,
 *   payload: { text: Schema.String }
 * }) {}
 *
 * // one file, both sides: the main thread starts this same file on each worker thread
 * if (isMainThread) {
 *   const program = Effect.scoped(Effect.gen(function*() {
 *     const supervisor = yield* Supervisor.make({
 *       workers: 2,
 *       ...Threads.offload({ file: new URL(import.meta.url), schema: Words })
 *     })
 *     const counts = yield* Effect.forEach(
 *       ["one two", "three four five", "six"],
 *       (text) => supervisor.execute(new Words({ text })),
 *       { concurrency: "unbounded" }
 *     )
 *     return counts.join(" ")
 *   }))
 *   Effect.runPromise(program).then(console.log) // 2 3 1
 * } else {
 *   ThreadRunner.serve(Words, { Words: ({ text }) => Effect.succeed(text.split(" ").length) })
 * }
 * ```
 *
 * @category constructors
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
 * import { Effect, pipe, Schema } from "effect"
 * import { isMainThread } from "node:worker_threads"
 * import { Supervisor } from "effect-supervisor"
 * import { ThreadRunner, Threads } from "effect-supervisor/threads"
 *
 * class Square extends Schema.TaggedRequest<Square>()("Square", {
 *   failure: Schema.Never,
 *   success: Schema.Number,
 *   payload: { n: Schema.Number }
 * }) {}
 *
 * class Shout extends Schema.TaggedRequest<Shout>()("Shout", {
 *   failure: Schema.Never,
 *   success: Schema.String,
 *   payload: { text: Schema.String }
 * }) {}
 *
 * const Request = Schema.Union(Square, Shout)
 *
 * // one file, both sides: the main thread starts this same file as its worker thread
 * if (isMainThread) {
 *   const program = Effect.scoped(Effect.gen(function*() {
 *     const supervisor = yield* Supervisor.make({
 *       workers: 1,
 *       ...Threads.offload({ file: new URL(import.meta.url), schema: Request })
 *     })
 *     // supervisor.execute would be typed number | string; these are typed per request class
 *     const squared: number = yield* Threads.execute(supervisor, new Square({ n: 3 }))
 *     const shouted: string = yield* pipe(supervisor, Threads.execute(new Shout({ text: "hi" })))
 *     return `${squared} ${shouted}`
 *   }))
 *   Effect.runPromise(program).then(console.log) // 9 HI
 * } else {
 *   ThreadRunner.serve(Request, {
 *     Square: ({ n }) => Effect.succeed(n * n),
 *     Shout: ({ text }) => Effect.succeed(text.toUpperCase())
 *   })
 * }
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
 * When to use: to write the type of such a supervisor: a function parameter, a `Context.Tag`'s
 * service, a field.
 *
 * Details: `Supervisor<T, Success<T>, Failure<T> | ParseError | WorkerCrashed, S>`, with `S`
 * the state of its fold (`void` without one). `Threads.execute` accepts exactly these.
 *
 * Gotchas: a supervisor with a handler of your own (one that maps the thread's results) is not
 * a `ThreadSupervisor`; type it with `Supervisor.Supervisor` instead.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { isMainThread } from "node:worker_threads"
 * import { Supervisor } from "effect-supervisor"
 * import { ThreadRunner, Threads } from "effect-supervisor/threads"
 *
 * class Square extends Schema.TaggedRequest<Square>()("Square", {
 *   failure: Schema.Never,
 *   success: Schema.Number,
 *   payload: { n: Schema.Number }
 * }) {}
 *
 * // the type of what offload builds, for code that takes such a supervisor as a parameter
 * const sumOfSquares = (squares: Threads.ThreadSupervisor<Square>, upTo: number) =>
 *   Effect.forEach(
 *     Array.from({ length: upTo }, (_, i) => new Square({ n: i + 1 })),
 *     (square) => Threads.execute(squares, square),
 *     { concurrency: "unbounded" }
 *   ).pipe(Effect.map((squares) => squares.reduce((sum, n) => sum + n, 0)))
 *
 * // one file, both sides: the main thread starts this same file as its worker thread
 * if (isMainThread) {
 *   const program = Effect.scoped(Effect.flatMap(
 *     Supervisor.make({ workers: 1, ...Threads.offload({ file: new URL(import.meta.url), schema: Square }) }),
 *     (squares) => sumOfSquares(squares, 10)
 *   ))
 *   Effect.runPromise(program).then(console.log) // 385
 * } else {
 *   ThreadRunner.serve(Square, { Square: ({ n }) => Effect.succeed(n * n) })
 * }
 * ```
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
 * What `Threads.execute` can fail with for one request class: its own typed failure, a
 * `ParseError` (the request does not fit its Schema; nothing was sent) or a `TaskError`
 * (`WorkerCrashed`, `TaskTimeout`, `SupervisorClosed`, `TaskInterrupted`, `TaskDropped`).
 *
 * When to use: in the signature of code that awaits one request's result and handles its
 * errors by `_tag`.
 *
 * Details: every member is tagged, so `Effect.catchTag` / `Effect.catchTags` and a `switch` on
 * `_tag` narrow it.
 *
 * Gotchas: a defect in the thread's handler is not here: it is a defect of the call.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Threads } from "effect-supervisor/threads"
 *
 * class Unreadable extends Schema.TaggedError<Unreadable>()("Unreadable", { path: Schema.String }) {}
 *
 * class Checksum extends Schema.TaggedRequest<Checksum>()("Checksum", {
 *   failure: Unreadable,
 *   success: Schema.String,
 *   payload: { path: Schema.String }
 * }) {}
 *
 * // the request's own failure, a ParseError, or a TaskError (WorkerCrashed, TaskTimeout, …)
 * const describe = (error: Threads.ExecuteError<Checksum>): string => {
 *   switch (error._tag) {
 *     case "Unreadable":
 *       return `cannot read ${error.path}`
 *     case "ParseError":
 *       return "the request does not fit its Schema"
 *     default:
 *       return `the supervisor could not run it: ${error._tag}`
 *   }
 * }
 *
 * console.log(describe(new Unreadable({ path: "/etc/shadow" }))) // cannot read /etc/shadow
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type ExecuteError<Req extends Schema.TaggedRequest.All> =
  | Schema.WithResult.Failure<Req>
  | ParseResult.ParseError
  | TaskError
