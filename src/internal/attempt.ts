/**
 * One task's attempt pipeline: rate limit → timeout → retry → span. Built once per supervisor
 * from its options; only the stages that are configured are in it.
 *
 * - A handler that throws synchronously (e.g. `JSON.parse` before returning an Effect) is a
 *   defect of that task. The handler is called when the attempt starts: after the permit, and
 *   inside the timeout, whose fiber evaluates it lazily. (A bare pipeline has neither: there
 *   `execute` may call it first, trying to run the task in place; see `Workers.runInPlace`.)
 * - The rate-limit permit is taken before the attempt's timeout starts.
 * - `retry` sees typed failures and `TaskTimeout`, never `WorkerCrashed` (the worker restarts).
 * - Each attempt gets its own `Scope` (see `attemptScope.ts`), closed before the next one.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as RateLimiter from "effect/RateLimiter"
import type * as Schedule from "effect/Schedule"
import { TaskTimeout, WorkerCrashed } from "../Errors.js"
import type { AttemptScope } from "./attemptScope.js"
import { type Deadlines, runOwn, type Timed } from "./deadlines.js"
import { effectOf } from "./handlerResult.js"
import type { Counts } from "./metrics.js"
import type { Entry } from "./queue/taskQueue.js"

/** What the pipeline reads and writes on the worker that runs it. */
export interface Runner {
  readonly id: number
  readonly scope: AttemptScope
  /** attempts made by the current task */
  attempts: number
}

/** @internal */
export type Attempt<T, A, E, R, Res> = (entry: Entry<T>, resource: Res, runner: Runner) => Effect.Effect<
  A,
  E | TaskTimeout<T>,
  R
>

/** @internal */
export interface AttemptOptions<T, A, E, R, Res> {
  readonly handler: (task: T, resource: Res) => Effect.Effect<A, E, R>
  readonly retry: Schedule.Schedule<unknown, E | TaskTimeout<T>, never> | undefined
  /** with the line its attempts join (whose watchdog runs as long as the supervisor) */
  readonly timeout: { readonly duration: Duration.Duration; readonly deadlines: Deadlines<Timed> } | undefined
  readonly limiter: RateLimiter.RateLimiter | undefined
  /** the span name (`<name>.task`), or undefined for no span */
  readonly span: string | undefined
  readonly describe: ((task: T) => string) | undefined
}

/** @internal */
export const make = <T, A, E, R, Res>(
  options: AttemptOptions<T, A, E, R, Res>,
  counts: Counts,
  /** the metrics catch up with `counts` (a timeout of a task still retrying has no outcome yet) */
  sync: () => void
): Attempt<T, A, E, R, Res> => {
  const { describe, handler, limiter, retry, span, timeout } = options
  // the handler is called where the attempt starts (one op fewer than `Effect.suspend` per task)
  let once = (entry: Entry<T>, resource: Res): Effect.Effect<A, E | TaskTimeout<T>, R> => {
    if (entry.abandoned) return Effect.interrupt
    entry.started = true
    const prepared = entry.prepared
    if (prepared !== undefined) {
      // built by `execute` trying to run the task in place (only for bare attempts)
      entry.prepared = undefined
      return prepared
    }
    try {
      return effectOf(handler(entry.task, resource))
    } catch (defect) {
      return Effect.die(defect)
    }
  }
  if (timeout !== undefined) {
    const bare = once
    const { deadlines, duration } = timeout
    const millis = Duration.toMillis(duration)
    // Its own fiber (see deadlines.ts), so the watchdog can interrupt this attempt alone; one
    // that ends without waiting never joins the line. `once` is called as the attempt starts
    // (by the worker, by `retry`, or once the permit is taken), so its deadline is read here.
    once = (entry, resource) => {
      const timeoutAt = deadlines.deadlineIn(millis)
      // made only for an attempt that waits: one that ends in place needs no record
      let timed: Timed | undefined
      return runOwn(
        Effect.suspend(() => bare(entry, resource)),
        (fiber) => {
          timed = { fiber, timeoutAt, timedOut: false }
          deadlines.add(timed)
        },
        (exit) => {
          if (timed === undefined || !timed.timedOut) return exit
          counts.timeouts++
          sync()
          // a Timeout whatever the attempt does after its deadline (ends late, fails, or dies
          // while it is interrupted)
          return Effect.fail(new TaskTimeout({ task: entry.task, timeout: duration }))
        }
      )
    }
  }
  if (limiter !== undefined) {
    const timed = once
    once = (entry, resource) => limiter(Effect.suspend(() => timed(entry, resource)))
  }
  let attempt: Attempt<T, A, E, R, Res>
  if (retry === undefined) {
    attempt = (entry, resource, runner) => {
      runner.attempts = 1
      return once(entry, resource)
    }
  } else {
    const single = once
    attempt = (entry, resource, runner) => {
      runner.attempts = 0
      const counted = Effect.uninterruptibleMask((restore) => {
        runner.attempts++
        return Effect.flatMap(Effect.exit(restore(single(entry, resource))), (exit) => closed(runner.scope, exit))
      })
      return Effect.retry(withoutRetryableDefects(counted), {
        schedule: retry,
        while: (error) => !(error instanceof WorkerCrashed)
      })
    }
  }
  if (span === undefined) return attempt
  const traced = attempt
  return (entry, resource, runner) => {
    const attributes: Record<string, unknown> = { "supervisor.worker": runner.id }
    if (describe !== undefined) attributes["supervisor.task"] = safeDescribe(describe, entry.task)
    return Effect.withSpan(
      Effect.onExit(traced(entry, resource, runner), () => Effect.annotateCurrentSpan("attempts", runner.attempts)),
      span,
      { attributes }
    )
  }
}

/**
 * With `retry`, each attempt's scope closes as that attempt ends, with its exit: its resources
 * are not held through the retry's delay, its finalizers see how it ended, and one that dies
 * makes the attempt a defect, which is not retried. A timed-out attempt stays a Timeout
 * whatever its finalizers do (as without retry: see worker.ts).
 */
const closed = <A, E>(scope: AttemptScope, exit: Exit.Exit<A, E>): Effect.Effect<A, E> =>
  Effect.flatMap(Effect.exit(scope.close(exit)), (closing) => {
    if (Exit.isSuccess(closing) || isTimeout(exit)) return exit
    return Exit.failCause(Exit.isSuccess(exit) ? closing.cause : Cause.sequential(exit.cause, closing.cause))
  })

const isTimeout = (exit: Exit.Exit<unknown, unknown>): boolean => {
  if (Exit.isSuccess(exit)) return false
  const failure = Cause.failureOption(exit.cause)
  return failure._tag === "Some" && failure.value instanceof TaskTimeout
}

/**
 * `Effect.retry` retries a cause that holds a typed failure even when it also holds a defect
 * (a finalizer of the handler's that died): such a cause keeps only its defects, which are
 * never retried. One op per attempt, on the retry path only.
 */
const withoutRetryableDefects = <A, E, R>(attempt: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.catchAllCause(
    attempt,
    (cause) => Effect.failCause(Cause.isDie(cause) ? Cause.stripFailures(cause) : cause)
  )

const safeDescribe = <T>(describe: (task: T) => string, task: T): string => {
  try {
    return String(describe(task))
  } catch (error) {
    return `<describe threw: ${String(error)}>`
  }
}
