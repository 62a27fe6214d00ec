import * as Data from "effect/Data"

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
 * import { Threads } from "effect-supervisor/threads"
 *
 * declare const spec: Threads.Spec<any>
 * const program = Effect.scoped(Threads.resource(spec)).pipe(
 *   Effect.catchTag("ThreadStartFailed", (e) => Effect.logError(e.message))
 * )
 * ```
 *
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
