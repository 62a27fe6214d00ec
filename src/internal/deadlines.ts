/**
 * Timeouts without a timer per attempt: a line of running attempts in start order, and one
 * watchdog fiber that sleeps until the first one's deadline and interrupts it if it is still
 * running. An attempt that ends in time costs a fiber and a push (a sync task ~5 µs in all, against
 * ~0.4 µs with no timeout); nothing wakes for it.
 *
 * Why not `Effect.timeoutFail`: it races the attempt against a sleep, two fibers and a timer per
 * attempt — 50,000 sync tasks, 16 at a time, went from ~3 to ~46 µs each with a 30-second
 * timeout (measured), more than most tasks cost.
 *
 * Every attempt of one line has the same timeout, so start order is deadline order: the line
 * is a queue, and the watchdog only ever looks at its front. Attempts end roughly in start
 * order, so dropping the ended ones in front keeps it short; behind a long attempt in front,
 * the ended ones are swept out once the line doubles, so it holds at most about twice the
 * attempts running (one per worker) plus 1,024, however long the timeout.
 *
 * @internal
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"

/** An attempt in the line. */
export interface Timed {
  /** the attempt's fiber; undefined or done once it ended */
  readonly fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  /** when its time is up (the clock's milliseconds) */
  readonly timeoutAt: number
  /** set by the watchdog when it interrupted the attempt for its timeout */
  timedOut: boolean
  /** no longer to be timed out (dropped by its owner, say), though its fiber may still run */
  readonly dropped?: boolean
}

const running = (timed: Timed): boolean =>
  timed.dropped !== true && timed.fiber !== undefined && timed.fiber.unsafePoll() === null

/** @internal */
export class Deadlines<X extends Timed> {
  private line: Array<X> = []
  private head = 0
  /** the line's length that triggers a sweep of the ended attempts behind its front */
  private sweepAt = 1024
  /** offered when an attempt joins an empty line: the watchdog waits on it (one is enough) */
  private readonly joined = Effect.runSync(Queue.sliding<void>(1))

  constructor(private readonly clock: { readonly unsafeCurrentTimeMillis: () => number }) {}

  /** The deadline of an attempt that starts now with a timeout of `millis`. */
  deadlineIn(millis: number): number {
    return this.clock.unsafeCurrentTimeMillis() + millis
  }

  /** `timed` has started: it goes in line for its timeout */
  add(timed: X): void {
    this.forgetEnded()
    if (this.head === this.line.length) this.joined.unsafeOffer(undefined)
    this.line.push(timed)
    if (this.line.length - this.head >= this.sweepAt) {
      this.line = this.line.slice(this.head).filter(running)
      this.head = 0
      this.sweepAt = Math.max(1024, 2 * this.line.length)
    }
  }

  /** attempts in the line (ended ones not swept out yet included) */
  get size(): number {
    return this.line.length - this.head
  }

  private forgetEnded(): void {
    const line = this.line
    while (this.head < line.length && !running(line[this.head]!)) this.head++
    if (this.head === line.length) {
      this.line = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > line.length) {
      this.line = line.slice(this.head)
      this.head = 0
    }
  }

  /**
   * The watchdog: interrupts each attempt whose time ran out (without waiting for its
   * finalizers: the next one's timeout must not wait for them), sleeping until the first
   * deadline otherwise. Its owner forks it for as long as attempts may run.
   */
  readonly watchdog: Effect.Effect<never> = Effect.forever(Effect.suspend(() => {
    this.forgetEnded()
    if (this.head === this.line.length) return Queue.take(this.joined)
    const timed = this.line[this.head]!
    const wait = timed.timeoutAt - this.clock.unsafeCurrentTimeMillis()
    if (wait > 0) return Effect.sleep(wait)
    this.head++
    timed.timedOut = true
    timed.fiber!.unsafeInterruptAsFork(timed.fiber!.id())
    return Effect.void
  }))
}

/**
 * Runs `effect` in a fiber of its own, on the calling fiber's context and refs, started at once:
 * it runs until it first waits, so an effect that completes without waiting costs no scheduler
 * round trip (~4 µs against ~20 µs for `Effect.fork` + `Fiber.join`, measured), and `waiting`
 * is called only for one that did not. Its exit goes to `then`, which runs uninterruptibly
 * (keep it a value or a failure). The fiber is interruptible, as workers run their handlers;
 * interrupted while waiting for it, the caller interrupts it and waits for it to stop. The
 * caller is uninterruptible until that is set up: an interruption that arrives while the
 * effect runs in place (its handler stopping its own supervisor, say) must not leave the fiber
 * running with no one to stop it (it is no child of the caller's).
 *
 * @internal
 */
export const runOwn = <A, E, R, B, E2>(
  effect: Effect.Effect<A, E, R>,
  waiting: (fiber: Fiber.RuntimeFiber<A, E>) => void,
  then: (exit: Exit.Exit<A, E>) => Effect.Effect<B, E2>
): Effect.Effect<B, E2> =>
  Effect.uninterruptible(Effect.withFiberRuntime((caller) => {
    const fiber = Runtime.runFork(Runtime.make({
      context: caller.currentContext as Context.Context<R>,
      fiberRefs: caller.getFiberRefs(),
      runtimeFlags: Runtime.defaultRuntimeFlags
    }))(effect)
    const exit = fiber.unsafePoll()
    if (exit !== null) return then(exit)
    waiting(fiber)
    return Effect.flatMap(
      Effect.onInterrupt(Effect.interruptible(Fiber.await(fiber)), () => Fiber.interrupt(fiber)),
      then
    )
  }))
