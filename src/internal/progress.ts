/**
 * Progress snapshots of a supervisor as a `Stream`, read from the ledger's counters on the
 * `Clock`.
 *
 * Why the counters: they are exact, kept anyway, and read in O(1), so a subscriber costs one
 * timer and nothing per task, and no subscriber costs nothing at all (nothing is registered
 * anywhere). An `outcomes` subscription would cost an `Outcome` object per task, and its bounded
 * buffer drops the oldest entries when the reader lags: right for a live feed, wrong for
 * counting. The counters cover the supervisor's whole life, so a stream started late misses
 * nothing.
 *
 * When a snapshot is emitted: one when the stream starts; then on ticks of the Clock (start +
 * k·every), only if `done` or `total` moved since the last one; and a last one as soon as the
 * batch is done — the idle latch wakes the stream — or the supervisor stops, after which the
 * stream ends.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { InvalidOptions } from "../Errors.js"
import type * as Supervisor from "../Supervisor.js"
import type { Counts } from "./metrics.js"
import { isDurationInput, render } from "./options.js"

/** The part of the ledger a progress stream reads. */
export interface Counters {
  readonly counts: Counts
  /** open while every accepted task has an outcome */
  readonly idle: Effect.Latch
  onBusy: (() => void) | undefined
}

/**
 * What the progress streams of one supervisor share. Everything here is read; the ledger's
 * `onBusy` hook is set only while a stream waits for work to arrive.
 *
 * @internal
 */
export class Source {
  private readonly busyWaiters = new Set<() => void>()

  constructor(
    private readonly ledger: Counters,
    readonly isStopped: () => boolean,
    /** completes when the supervisor stops */
    readonly stopped: Effect.Effect<void>
  ) {}

  get counts(): Counts {
    return this.ledger.counts
  }

  get done(): number {
    const counts = this.ledger.counts
    return counts.succeeded + counts.failed + counts.defects + counts.interrupted + counts.dropped
  }

  /** some accepted task has no outcome (exactly while the idle latch is closed) */
  get busy(): boolean {
    return this.ledger.counts.submitted > this.done
  }

  readonly awaitIdle: Effect.Effect<void> = Effect.suspend(() => this.ledger.idle.await)

  /** Completes once some accepted task has no outcome (at once if one has). */
  readonly awaitBusy: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.busy) return resume(Effect.void)
    const waiter = () => resume(Effect.void)
    this.busyWaiters.add(waiter)
    this.ledger.onBusy = this.wakeBusy
    return Effect.sync(() => {
      this.busyWaiters.delete(waiter)
      if (this.busyWaiters.size === 0) this.ledger.onBusy = undefined
    })
  })

  private readonly wakeBusy = (): void => {
    this.ledger.onBusy = undefined
    const waiters = [...this.busyWaiters]
    this.busyWaiters.clear()
    for (const waiter of waiters) waiter()
  }
}

const DEFAULT_EVERY = Duration.seconds(1)

const validate = (
  options: Supervisor.ProgressOptions
): Effect.Effect<{ readonly everyMillis: number; readonly total: number | undefined }, InvalidOptions> =>
  Effect.suspend(() => {
    const { every, total } = options
    if (every !== undefined && (!isDurationInput(every) || Duration.toMillis(every) <= 0)) {
      return Effect.fail(
        new InvalidOptions({
          message: `every must be a positive Duration input (e.g. "100 millis"), got ${render(every)}`
        })
      )
    }
    if (total !== undefined && !(Number.isInteger(total) && total >= 0)) {
      return Effect.fail(new InvalidOptions({ message: `total must be an integer >= 0, got ${render(total)}` }))
    }
    return Effect.succeed({ everyMillis: Duration.toMillis(every ?? DEFAULT_EVERY), total })
  })

/** @internal */
export const make = (
  source: Source,
  options: Supervisor.ProgressOptions = {}
): Stream.Stream<Supervisor.Progress, InvalidOptions> =>
  Stream.unwrap(
    Effect.flatMap(validate(options), ({ everyMillis, total: expected }) =>
      Effect.map(Clock.currentTimeMillis, (start) => {
        const { counts } = source
        const base = source.done
        const totalOf = () =>
          Math.max(expected ?? 0, counts.submitted)
        const snapshot = (now: number): Supervisor.Progress => {
          const done = source.done
          const total = totalOf()
          const elapsed = now - start
          const finishedHere = done - base
          const remaining = total - done
          return {
            done,
            total,
            succeeded: counts.succeeded,
            failed: counts.failed,
            defects: counts.defects,
            interrupted: counts.interrupted,
            dropped: counts.dropped,
            elapsed: Duration.millis(elapsed),
            ratePerSecond: elapsed > 0 ? (finishedHere * 1000) / elapsed : 0,
            eta: remaining === 0
              ? Option.some(Duration.zero)
              : finishedHere > 0
              ? Option.some(Duration.millis(Math.round((remaining * elapsed) / finishedHere)))
              : Option.none()
          }
        }
        // without a total only a stop ends the stream: "everything submitted has an outcome" also
        // holds before the first submit
        const finished = () => source.isStopped() || (expected !== undefined && source.done >= totalOf())
        /**
         * Until the next tick, or earlier when the batch may be done (the supervisor went idle)
         * or the supervisor stops. While it is idle short of the total, the batch goes on only
         * once tasks arrive: wait for that, then for idle again.
         */
        const wait = (millis: number) =>
          Effect.raceAll([
            Effect.sleep(Duration.millis(millis)),
            source.stopped,
            ...(expected === undefined ? [] : [source.busy ? source.awaitIdle : source.awaitBusy])
          ])

        let last: Supervisor.Progress | undefined
        let ended = false
        let nextTick = start + everyMillis
        /** The next snapshot worth emitting; fails with `None` after the last one. */
        const next: Effect.Effect<Supervisor.Progress, Option.Option<never>> = Effect.suspend(() => {
          if (ended) return Effect.fail(Option.none())
          if (last === undefined) {
            last = snapshot(start)
            ended = finished()
            return Effect.succeed(last)
          }
          const step: Effect.Effect<Supervisor.Progress> = Effect.flatMap(Clock.currentTimeMillis, (before) =>
            Effect.zipRight(
              wait(Math.max(0, nextTick - before)), // a consumer that took longer than a tick: at once
              Effect.flatMap(Clock.currentTimeMillis, (now) => {
                if (finished()) {
                  ended = true
                  return Effect.succeed(snapshot(now))
                }
                if (now < nextTick) { return step // woken early, and the batch goes on
                 }
                nextTick += everyMillis * (Math.floor((now - nextTick) / everyMillis) + 1)
                const previous = last!
                if (source.done === previous.done && totalOf() === previous.total) return step
                last = snapshot(now)
                return Effect.succeed(last)
              })
            ))
          return step
        })
        return Stream.repeatEffectOption(next)
      }))
  )
