/**
 * The typed errors of effect-supervisor.
 *
 * Every error is a `Data.TaggedError`, so `Effect.catchTag` and `Effect.catchTags` work on them.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"

/**
 * The options given to `Supervisor.make` / `Supervisor.run` (or a runtime call such as
 * `resize`) are not valid.
 *
 * When to use: catch it where options come from configuration; `Supervisor.validate` checks
 * options without starting anything.
 *
 * Details: `message` names the field and the value, e.g.
 * `workers must be an integer >= 1, got 0`. Nothing was started when it is raised.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Supervisor.run([1, 2], { workers: 0, handler: Effect.succeed }).pipe(
 *   Effect.map(() => "ran"),
 *   Effect.catchTag("InvalidOptions", (e) => Effect.succeed(e.message))
 * )
 *
 * Effect.runPromise(program).then(console.log) // workers must be an integer >= 1, got 0
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidOptions extends Data.TaggedError("InvalidOptions")<{
  readonly message: string
}> {}

/**
 * A task was submitted after `shutdown` / `shutdownNow` (or after the supervisor escalated or
 * its scope closed). The task was not accepted and has no outcome.
 *
 * When to use: catch it in producers that may outlive the supervisor (a request handler
 * submitting work during shutdown) to answer "try later" instead of failing.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const sup = yield* Supervisor.make({ workers: 1, handler: (n: number) => Effect.succeed(n) })
 *     yield* sup.shutdown
 *     return yield* sup.submit(1).pipe(
 *       Effect.as("accepted"),
 *       Effect.catchTag("SupervisorClosed", (e) => Effect.succeed(e.message))
 *     )
 *   })
 * )
 *
 * Effect.runPromise(program).then(console.log) // the supervisor is closed: it accepts no new tasks
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class SupervisorClosed extends Data.TaggedError("SupervisorClosed")<{}> {
  override get message() {
    return "the supervisor is closed: it accepts no new tasks"
  }
}

// a named base, so the class can take a type parameter for `task`
const TaskTimeoutBase = Data.TaggedError("TaskTimeout")

/**
 * One attempt of a task ran longer than the `timeout` option. `task` is the task itself (typed
 * as the supervisor's task type in `Outcome.Failure`). The attempt was interrupted
 * (its finalizers ran); `retry` retries it like a typed failure.
 *
 * Details: `task` is the task, `timeout` the bound that was exceeded. After the last attempt
 * the task's outcome is a `Failure` whose `error` is this.
 *
 * Gotchas: waiting for a `rateLimit` permit is not part of the timeout.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const sup = yield* Supervisor.make({
 *       workers: 1,
 *       handler: (ms: number) => Effect.sleep(ms),
 *       timeout: "10 millis"
 *     })
 *     return yield* sup.execute(1_000).pipe(
 *       Effect.as("done"),
 *       Effect.catchTag("TaskTimeout", (e) => Effect.succeed(`${e.task} ms: ${e.message}`))
 *     )
 *   })
 * )
 *
 * Effect.runPromise(program).then(console.log) // 1000 ms: task timed out after Duration(10ms)
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class TaskTimeout<out T = unknown> extends TaskTimeoutBase<{
  readonly task: T
  readonly timeout: Duration.Duration
}> {
  override get message() {
    return `task timed out after ${String(this.timeout)}`
  }
}

/**
 * The worker's resource broke while it ran the task (e.g. its worker thread exited). The
 * task ends with this failure and the worker restarts under the restart policy.
 *
 * When to use: handlers may fail with it themselves to say "my resource is broken, restart
 * me" (a dropped connection); the worker then releases its resource and acquires a new one.
 *
 * Gotchas: it is never retried by `retry` (the task's resource is gone), and every crash
 * counts against the restart intensity (`Restart.policy`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Errors, Supervisor } from "effect-supervisor"
 *
 * let connections = 0
 * const program = Supervisor.run(["ok", "broken", "ok"], {
 *   workers: 1,
 *   resource: Effect.sync(() => ++connections),
 *   handler: (task: string, connection) =>
 *     task === "broken"
 *       ? Effect.fail(new Errors.WorkerCrashed({ cause: `connection ${connection} reset` }))
 *       : Effect.succeed(connection)
 * })
 *
 * Effect.runPromise(program).then((summary) => console.log(summary.stats.restarts, connections)) // 1 2
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class WorkerCrashed extends Data.TaggedError("WorkerCrashed")<{
  readonly cause: unknown
}> {
  override get message() {
    return `worker crashed: ${describe(this.cause)}`
  }
}

/**
 * The supervisor gave up: more than `maxRestarts` restarts within `within` (or the backoff
 * schedule ended). Running tasks were interrupted, queued ones ended `Interrupted`.
 *
 * Details: `restarts` counts the restarts made, `cause` is the failure of the last worker.
 * The error reaches `shutdown`, `shutdownNow`, `awaitIdle` and `run`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Restart, Supervisor } from "effect-supervisor"
 *
 * const program = Supervisor.run([1], {
 *   workers: 1,
 *   resource: Effect.fail("no connection"),
 *   handler: (n: number) => Effect.succeed(n),
 *   restart: Restart.policy({ maxRestarts: 2 })
 * }).pipe(
 *   Effect.as("ran"),
 *   Effect.catchTag("Escalated", (e) => Effect.succeed(e.message))
 * )
 *
 * Effect.runPromise(program).then(console.log) // supervisor escalated after 3 restarts
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class Escalated extends Data.TaggedError("Escalated")<{
  readonly restarts: number
  readonly cause: Cause.Cause<unknown>
}> {
  override get message() {
    return `supervisor escalated after ${this.restarts} restarts`
  }
}

/**
 * The task was interrupted before it produced a value: by `shutdownNow`, by its scope
 * closing, by `cancel`, or by an escalation. `execute` fails with it.
 *
 * @example
 * ```ts
 * import { Effect, Fiber } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const sup = yield* Supervisor.make({ workers: 1, handler: (_: string) => Effect.never })
 *     const waiting = yield* Effect.fork(sup.execute("forever"))
 *     yield* Effect.sleep("10 millis")
 *     yield* sup.shutdownNow
 *     return yield* Fiber.join(waiting).pipe(
 *       Effect.catchTag("TaskInterrupted", (e) => Effect.succeed(`${e.task}: ${e.message}`))
 *     )
 *   })
 * )
 *
 * Effect.runPromise(program).then(console.log) // forever: task interrupted
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class TaskInterrupted extends Data.TaggedError("TaskInterrupted")<{
  readonly task: unknown
}> {
  override get message() {
    return "task interrupted"
  }
}

/**
 * The task was dropped by a full `"dropping"` or `"sliding"` queue; `execute` fails with it.
 *
 * Gotchas: with `"dropping"`, a task that does not fit is refused before it is accepted, so
 * `execute` of it fails with this at once; with `"sliding"` the oldest waiting task is the
 * one dropped.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "effect-supervisor"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const sup = yield* Supervisor.make({
 *       workers: 1,
 *       capacity: 1,
 *       strategy: "sliding",
 *       handler: (_: string) => Effect.sleep("50 millis")
 *     })
 *     yield* sup.submit("running")
 *     yield* Effect.sleep("10 millis")
 *     const oldest = yield* Effect.fork(sup.execute("oldest"))
 *     yield* Effect.sleep("10 millis")
 *     yield* sup.submit("newest") // the queue holds one task: "oldest" slides out
 *     return yield* oldest.await
 *   })
 * )
 *
 * Effect.runPromise(program).then((exit) => console.log(exit._tag)) // Failure
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class TaskDropped extends Data.TaggedError("TaskDropped")<{
  readonly task: unknown
}> {
  override get message() {
    return "task dropped by a full queue"
  }
}

/**
 * A worker thread could not start: its file failed to load, threw or exited before it was
 * ready, or it did not become ready within `startTimeout`.
 *
 * When to use: catch it (`Effect.catchTag("ThreadStartFailed", …)`) around `Threads.resource`
 * when you acquire a thread yourself; under a supervisor it makes the worker restart and, if it
 * keeps happening, the supervisor escalates.
 *
 * Details: `cause` is what the thread reported (a pretty-printed Effect cause when the
 * thread-side layer failed, the thrown error when the file failed to load, or an `Error`
 * naming the exit code / the timeout).
 *
 * Gotchas: a thread that starts and then dies is not a start failure: the task in flight ends
 * with `WorkerCrashed` instead.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Errors } from "effect-supervisor"
 *
 * // what Threads.resource fails with (the same class is exported by effect-supervisor/threads)
 * const failed = new Errors.ThreadStartFailed({ file: "worker.ts", cause: new Error("exit code 1") })
 * const program = Effect.fail(failed).pipe(
 *   Effect.catchTag("ThreadStartFailed", (e) => Effect.succeed(e.message))
 * )
 *
 * Effect.runPromise(program).then(console.log) // worker thread worker.ts failed to start: exit code 1
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class ThreadStartFailed extends Data.TaggedError("ThreadStartFailed")<{
  readonly file: string
  readonly cause: unknown
}> {
  override get message() {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `worker thread ${this.file} failed to start: ${cause}`
  }
}

/**
 * What `execute` can add to the handler's own error type: the handler's `E` arrives
 * unchanged, next to these.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Errors } from "effect-supervisor"
 *
 * const explain = (e: Errors.TaskError): string => {
 *   switch (e._tag) {
 *     case "SupervisorClosed":
 *       return "closed"
 *     case "TaskTimeout":
 *       return "too slow"
 *     case "WorkerCrashed":
 *       return "resource broke"
 *     case "TaskInterrupted":
 *       return "interrupted"
 *     case "TaskDropped":
 *       return "queue full"
 *   }
 * }
 *
 * Effect.runSync(Effect.sync(() => console.log(explain({ _tag: "TaskDropped" } as Errors.TaskError)))) // queue full
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type TaskError = SupervisorClosed | TaskTimeout | WorkerCrashed | TaskInterrupted | TaskDropped

const describe = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : String(cause)
