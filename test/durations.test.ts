// The duration histogram of sync tasks that run back to back in place, which read the clock
// once per run of them rather than once per task (worker.ts, `endInPlace`). A clock that only
// the tasks move (each adds its duration) makes every sample known in advance.
import { expect, it } from "@effect/vitest"
import { Clock, Effect, FastCheck as fc } from "effect"
import { Supervisor } from "effect-supervisor"
import { histogram } from "./support/metrics.js"

type Kind = "sync" | "throw" | "fail" | "async"
interface Task {
  readonly millis: number
  readonly kind: Kind
}

/** A clock that stands still until a task moves it. */
const manualClock = (sleep: Clock.Clock["sleep"]) => {
  let now = 1_000_000
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    currentTimeMillis: Effect.sync(() => now),
    unsafeCurrentTimeNanos: () => BigInt(now) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
    sleep
  }
  return { clock, advance: (millis: number) => (now += millis) }
}

/** The buckets a sample per task gives (the supervisor's boundaries: 1, 2, 4, … ms). */
const bucketsOf = (samples: ReadonlyArray<number>, boundaries: ReadonlyArray<number>) =>
  boundaries.map((boundary) => [boundary, samples.filter((sample) => sample <= boundary).length] as const)

let supervisors = 0
/** Runs the tasks on one worker (in order) and reads the duration and queued histograms. */
const runAll = (tasks: ReadonlyArray<Task>) =>
  Effect.gen(function*() {
    const { advance, clock } = manualClock((yield* Effect.clock).sleep)
    const name = `durations-${supervisors++}`
    yield* Supervisor.run(tasks, {
      workers: 1,
      name,
      spans: false,
      handler: ({ kind, millis }: Task) => {
        switch (kind) {
          case "sync":
            return Effect.sync(() => advance(millis))
          case "throw":
            return Effect.sync(() => {
              advance(millis)
              throw new Error("thrown")
            })
          case "fail":
            return Effect.flatMap(Effect.sync(() => advance(millis)), () => Effect.fail("failed"))
          case "async":
            return Effect.zipRight(Effect.yieldNow(), Effect.sync(() => advance(millis)))
        }
      }
    }).pipe(Effect.withClock(clock))
    return {
      duration: yield* histogram(name, "supervisor_task_duration_ms"),
      queued: yield* histogram(name, "supervisor_task_queued_ms")
    }
  })

const kind = fc.constantFrom<Kind>("sync", "sync", "sync", "sync", "throw", "fail", "async")
const task = fc.record({
  millis: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 9 }) }),
  kind
})

it.effect.prop(
  "every task has one sample, and the samples add up to the time the tasks took",
  { tasks: fc.array(task, { maxLength: 300 }) },
  ({ tasks }) =>
    Effect.gen(function*() {
      const { duration, queued } = yield* runAll(tasks)
      expect(duration.count).toBe(tasks.length)
      expect(duration.sum).toBe(tasks.reduce((sum, task) => sum + task.millis, 0))
      expect(queued.count).toBe(tasks.length)
    }),
  { fastCheck: { numRuns: 200 } }
)

/** A task that does not end in place (`fail`: a `flatMap`, `async`: a `yieldNow`) reads the clock itself. */
const notInPlace = fc.record({ millis: fc.integer({ min: 0, max: 9 }), kind: fc.constantFrom<Kind>("fail", "async") })

it.effect.prop(
  "with at most one tick in any 64 tasks that end in place, each sample is the task's own duration",
  {
    // runs of tasks that end in place and take no time (a run of 64 or more spans two runs
    // between clock reads, which hold at most 32 tasks), between tasks that read the clock
    // themselves; each segment ends with a task of any kind that may take time
    segments: fc.array(
      fc.record({
        still: fc.array(
          fc.oneof(
            {
              weight: 6,
              arbitrary: fc.record({ millis: fc.constant(0), kind: fc.constantFrom<Kind>("sync", "throw") })
            },
            { weight: 1, arbitrary: notInPlace }
          ),
          { minLength: 63, maxLength: 140 }
        ),
        last: task
      }),
      { maxLength: 6 }
    ),
    // or every task takes time: the clock moves at every read
    busy: fc.array(fc.record({ millis: fc.integer({ min: 1, max: 5 }), kind }), { maxLength: 100 })
  },
  ({ busy, segments }) =>
    Effect.gen(function*() {
      for (const tasks of [segments.flatMap(({ last, still }) => [...still, last]), busy]) {
        const { duration } = yield* runAll(tasks)
        const boundaries = duration.buckets.map(([boundary]) => boundary)
        expect(duration.buckets).toEqual(bucketsOf(tasks.map((task) => task.millis), boundaries))
        expect(duration.count).toBe(tasks.length)
      }
    }),
  { fastCheck: { numRuns: 100 } }
)

it.effect("a run of sync tasks that take no time reads the clock about once per 32 of them", () =>
  Effect.gen(function*() {
    let reads = 0
    const base = yield* Effect.clock
    const counting: Clock.Clock = {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: () => {
        reads++
        return base.unsafeCurrentTimeMillis()
      },
      currentTimeMillis: base.currentTimeMillis,
      unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos(),
      currentTimeNanos: base.currentTimeNanos,
      sleep: base.sleep
    }
    const tasks = Array.from({ length: 6400 }, (_, i) => i)
    const summary = yield* Supervisor.run(tasks, {
      workers: 1,
      name: "durations-reads",
      spans: false,
      handler: (x: number) => Effect.succeed(x)
    }).pipe(Effect.withClock(counting))
    expect(summary.stats.succeeded).toBe(tasks.length)
    // chunks of 64: a read as a chunk starts, then one after 32 tasks and one at its end (a read
    // per task before); submitAll reads once per 256 tasks
    expect(reads).toBeLessThan(tasks.length / 10)
  }))
