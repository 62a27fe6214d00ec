import { expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Fiber, TestClock } from "effect"
import { Supervisor } from "effect-supervisor"

// The mixed-handler property that stood here is subsumed by test/chaos.test.ts.

const settle = Effect.repeatN(Effect.yieldNow(), 20)
it.effect.prop(
  "keys, priorities, cancels, pauses and resizes: one outcome per task, perKey never exceeded, nothing left running",
  {
    specs: fc.array(fc.record({ millis: fc.integer({ min: 0, max: 30 }), key: fc.integer({ min: 0, max: 3 }) }), {
      maxLength: 30
    }),
    workers: fc.integer({ min: 1, max: 4 }),
    perKey: fc.integer({ min: 1, max: 3 }),
    capacity: fc.integer({ min: 1, max: 40 }),
    cancels: fc.array(fc.record({ index: fc.nat(), at: fc.integer({ min: 0, max: 60 }) }), { maxLength: 6 }),
    resizeTo: fc.integer({ min: 1, max: 5 }),
    pauseAt: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
    stop: fc.constantFrom("shutdown" as const, "shutdownNow" as const)
  },
  ({ cancels, capacity, pauseAt, perKey, resizeTo, specs, stop, workers }) =>
    Effect.scoped(Effect.gen(function*() {
      const running = new Map<number, number>()
      let violations = 0
      const sup = yield* Supervisor.make({
        workers,
        capacity,
        key: (task: { key: number; millis: number; id: number }) => String(task.key),
        perKey,
        priority: (task) => task.millis % 2,
        handler: (task) =>
          Effect.acquireUseRelease(
            Effect.sync(() => {
              const now = (running.get(task.key) ?? 0) + 1
              running.set(task.key, now)
              if (now > perKey) violations++
            }),
            () => Effect.sleep(task.millis),
            () => Effect.sync(() => running.set(task.key, running.get(task.key)! - 1))
          )
      })
      const tasks = specs.map((spec, id) => ({ ...spec, id }))
      const accepted: Array<Supervisor.TaskHandle<(typeof tasks)[number], void, never>> = []
      const submitter = yield* Effect.fork(
        Effect.exit(Effect.forEach(tasks, (task) => Effect.map(sup.submitWithHandle(task), (h) => accepted.push(h))))
      )
      yield* settle
      yield* sup.resize(resizeTo)
      let elapsed = 0
      const events = [...cancels.map((c) => ({ at: c.at, index: c.index })), { at: pauseAt ?? -1, index: -1 }]
        .filter((e) => e.at >= 0)
        .sort((a, b) => a.at - b.at)
      for (const event of events) {
        yield* TestClock.adjust(event.at - elapsed)
        elapsed = event.at
        if (event.index === -1) {
          yield* sup.pause
        } else {
          if (accepted.length > 0) yield* accepted[event.index % accepted.length]!.cancel
        }
      }
      yield* sup.resume
      const finished = yield* Effect.fork(sup[stop])
      yield* TestClock.adjust("10 seconds")
      const summary = yield* Fiber.join(finished)
      yield* Fiber.join(submitter)
      const outcomes = yield* Effect.forEach(accepted, (handle) => handle.await)
      expect(violations).toBe(0)
      expect(outcomes.map((o) => o.task.id)).toEqual(tasks.slice(0, accepted.length).map((t) => t.id))
      const s = summary.stats
      expect(s.submitted).toBe(accepted.length)
      expect(s.queued + s.running).toBe(0)
      expect(s.succeeded + s.interrupted).toBe(s.submitted)
      expect(outcomes.filter((o) => o._tag === "Interrupted").length).toBe(s.interrupted)
      expect([...running.values()].every((n) => n === 0)).toBe(true)
    })),
  { fastCheck: { numRuns: 100, timeout: 3000 } }
)
