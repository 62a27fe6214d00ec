// Durable queues across real processes (test/durable/child.ts) on a real SQLite file and a real
// PostgreSQL. Real time throughout: the subjects are OS processes (their start-up, SIGKILL, the
// database's clock), so every wait is bounded by a wall-clock limit instead of the TestClock.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, type Scope } from "effect"
import { Durable } from "effect-supervisor/durable"
import { join } from "node:path"
import {
  dropPgTables,
  eventually,
  processTargets,
  removeDir,
  requirePg,
  storeFor,
  tempDir,
  uniqueTable
} from "./durable/backends.js"
import { CrashJobs, Refused, Scripted, type ScriptedTask } from "./durable/child.js"
import { Child, until } from "./durable/children.js"

const dir = tempDir()
const tables: Array<string> = []
beforeAll(requirePg)
afterAll(async () => {
  removeDir(dir)
  await dropPgTables(tables)
})

const targets = processTargets(() => dir, tables, "procs")

/** a child consumer, SIGKILLed when the test's scope closes */
const child = (args: ReadonlyArray<string>, onEvent?: () => void): Effect.Effect<Child, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => new Child(args, onEvent)),
    (child) => Effect.sync(() => child.process.kill("SIGKILL"))
  )

const wait = (what: string, check: () => boolean, within: number) => Effect.promise(() => until(check, within, what))

/** how a child ended: the signal that killed it; bounded, since a child that does not die would hang the test */
const exited = (child: Child, within: number) =>
  Effect.timeoutFail(Effect.promise(() => child.exited), {
    duration: within,
    onTimeout: () => new Error(`the child did not exit within ${within} ms`)
  })

/** `await` bounded: a job that never ends (a broken fence loops) fails the test instead of hanging it */
const settled = <T, A, E>(jobs: Durable.Producer<T, A, E>, id: string, within = 20_000) =>
  Effect.timeoutFail(jobs.await(id), {
    duration: within,
    onTimeout: () => new Error(`job ${id} did not end within ${within} ms`)
  })

/** argv of a `scripted` child: 1 worker, no prefetch (it claims one job at a time) */
const scriptedArgs = (backend: string, where: string, lease: number, maxAttempts: number, retryMillis = 100) => [
  backend,
  where,
  "1",
  "0",
  String(lease),
  "1",
  "scripted",
  String(maxAttempts),
  String(retryMillis)
]

for (const target of targets) {
  describe(`Durable queues across processes on ${target.name}`, () => {
    it.live(
      "a retry written by a consumer that then died runs on another consumer, not before its due time",
      () =>
        Effect.gen(function*() {
          const where = target.where()
          const Jobs = Scripted(5000, 3)
          const store = yield* Layer.build(storeFor(target.name, where))
          const jobs = yield* Effect.provide(Durable.producer(Jobs), store)
          const id = yield* jobs.offer({ act: "fail-once", n: 1 })
          // its retry waits 2 s: far longer than it takes to see it written and kill the process
          const first = yield* child(scriptedArgs(target.name, where, 5000, 3, 2000))
          const written = yield* eventually(
            jobs.status(id),
            (info) => info.state === "queued" && info.attempts === 1 && info.lastError !== undefined,
            20_000
          )
          first.process.kill("SIGKILL")
          expect(yield* exited(first, 5000)).toBe("SIGKILL")
          expect(first.of("start", id).map((event) => event.attempt)).toEqual([1])
          expect(written.lastError).toEqual({ _tag: "Failure", error: new Refused({ attempt: 1 }) })
          expect(written.runAt.getTime() - Date.now()).toBeGreaterThan(1000)
          const ran: Array<{ readonly attempt: number; readonly at: number }> = []
          yield* Effect.provide(
            Durable.consumer({
              queue: Jobs,
              workers: 1,
              timeout: "5 seconds",
              handler: (_task: ScriptedTask, ctx) =>
                Effect.sync(() => {
                  ran.push({ attempt: ctx.attempt, at: Date.now() })
                  return "second"
                })
            }),
            store
          )
          expect(yield* settled(jobs, id)).toMatchObject({ state: "succeeded", attempts: 2, result: "second" })
          expect(ran.map((run) => run.attempt)).toEqual([2])
          // both clocks are this machine's; 5 ms for the store's rounding to whole milliseconds
          expect(ran[0].at).toBeGreaterThanOrEqual(written.runAt.getTime() - 5)
        }).pipe(Effect.scoped),
      40_000
    )

    it.live(
      "a poison job that kills its process each time is dead after maxAttempts deliveries",
      () =>
        Effect.gen(function*() {
          const where = target.where()
          const lease = 500
          const Jobs = Scripted(lease, 2)
          const store = yield* Layer.build(storeFor(target.name, where))
          const jobs = yield* Effect.provide(Durable.producer(Jobs), store)
          const [poison, fine] = yield* jobs.offerAll([{ act: "die", n: 1 }, { act: "ok", n: 2 }])
          // a process manager's restarts: each process claims the poison job and dies of it
          const starts: Array<number> = []
          for (let life = 1; life <= 2; life++) {
            const dying = yield* child(scriptedArgs(target.name, where, lease, 2))
            expect(yield* exited(dying, 20_000)).toBe("SIGKILL")
            starts.push(...dying.of("start", poison).map((event) => event.attempt))
          }
          expect(starts).toEqual([1, 2])
          // the next consumer finds the lease run out and no attempt left: a dead letter, not a third run
          const ran: Array<string> = []
          yield* Effect.provide(
            Durable.consumer({
              queue: Jobs,
              workers: 1,
              timeout: "5 seconds",
              handler: (task: ScriptedTask) => Effect.sync(() => (ran.push(task.act), "survived"))
            }),
            store
          )
          expect(yield* settled(jobs, poison)).toMatchObject({
            state: "dead",
            attempts: 2,
            lastError: { _tag: "LeaseExpired" }
          })
          expect((yield* settled(jobs, fine)).state).toBe("succeeded")
          expect(ran.filter((act) => act === "die")).toEqual([])
        }).pipe(Effect.scoped),
      60_000
    )

    it.live(
      "cancel from another process: a queued job never runs, a running one is interrupted where it runs",
      () =>
        Effect.gen(function*() {
          const where = target.where()
          const lease = 1500
          const Jobs = Scripted(lease, 3)
          const store = yield* Layer.build(storeFor(target.name, where))
          const jobs = yield* Effect.provide(Durable.producer(Jobs), store)
          const [running, queued] = yield* jobs.offerAll([{ act: "hang", n: 1 }, { act: "ok", n: 2 }])
          const worker = yield* child(scriptedArgs(target.name, where, lease, 3))
          yield* wait("the first job starts", () => worker.of("start", running).length === 1, 20_000)
          // the child's only worker is busy and it prefetches nothing: the second job is in the store
          expect((yield* jobs.status(queued)).state).toBe("queued")
          expect(yield* jobs.cancel(queued)).toBe(true)
          const cancelledAt = Date.now()
          expect(yield* jobs.cancel(running)).toBe(true)
          yield* wait("the running job is interrupted", () => worker.of("interrupted", running).length === 1, 5000)
          // at the child's next renewal (every lease/3), plus the time a statement takes here
          expect(worker.of("interrupted", running)[0].at - cancelledAt).toBeLessThan(lease / 3 + 500)
          // the child goes on working: a job offered now runs there, the cancelled one never did
          const after = yield* jobs.offer({ act: "ok", n: 3 })
          expect((yield* settled(jobs, after)).state).toBe("succeeded")
          expect(worker.events.filter((event) => event.kind === "start").map((event) => event.id)).toEqual([
            running,
            after
          ])
          expect(worker.of("done", running)).toEqual([])
          expect((yield* jobs.status(running)).state).toBe("cancelled")
          expect((yield* jobs.status(queued)).state).toBe("cancelled")
          expect(worker.stderr).toBe("")
        }).pipe(Effect.scoped),
      40_000
    )

    it.live(
      "7-second jobs: the process that started first does not hoard them while its peer idles",
      () =>
        Effect.gen(function*() {
          const where = target.where()
          const jobMillis = 7000
          const store = yield* Layer.build(storeFor(target.name, where))
          const jobs = yield* Effect.provide(Durable.producer(CrashJobs(30_000)), store)
          const ids = yield* jobs.offerAll([1, 2, 3, 4])
          // one worker each, adaptive prefetch (the default)
          const args = [target.name, where, "1", "auto", "30000", String(jobMillis)]
          const first = yield* child(args)
          yield* wait("the first process starts a job", () => first.count("start") === 1, 20_000)
          const second = yield* child(args)
          yield* Effect.promise(() => second.ready)
          const readyAt = Date.now()
          // the jobs the first one did not start are in the store, not held by it for 7 s
          yield* wait("the second process starts a job", () => second.count("start") === 1, 3000)
          expect(second.events[0].at - readyAt).toBeLessThan(3000)
          yield* wait("every job is done", () => first.count("done") + second.count("done") === 4, 25_000)
          expect([first.count("start"), second.count("start")]).toEqual([2, 2])
          const started = [...first.events, ...second.events].filter((event) => event.kind === "start")
          expect(started.map((event) => event.id).sort()).toEqual([...ids].sort())
          for (const id of ids) expect((yield* settled(jobs, id)).state).toBe("succeeded")
          expect(first.stderr + second.stderr).toBe("")
        }).pipe(Effect.scoped),
      60_000
    )
  })
}

describe("Durable on SQLite: several processes on one file", () => {
  it.live(
    "three consumer processes and a producer share one file: every job once, no \"database is locked\"",
    () =>
      Effect.gen(function*() {
        const file = join(dir, `${uniqueTable("shared")}.db`)
        const lease = 5000
        const store = yield* Layer.build(Durable.layerSqlite({ file }))
        const jobs = yield* Effect.provide(Durable.producer(CrashJobs(lease)), store)
        const first = yield* jobs.offerAll(Array.from({ length: 900 }, (_, i) => i))
        const children = yield* Effect.forEach(
          [1, 2, 3],
          () => child(["sqlite", file, "4", "auto", String(lease), "1"])
        )
        yield* Effect.promise(() => Promise.all(children.map((c) => c.ready)))
        // more writers while they work: this process enqueues in small batches
        const more: Array<string> = []
        for (let batch = 0; batch < 30; batch++) {
          more.push(...(yield* jobs.offerAll(Array.from({ length: 20 }, (_, i) => 900 + batch * 20 + i))))
        }
        const ids = [...first, ...more]
        const done = () => new Set(children.flatMap((c) => c.events.filter((e) => e.kind === "done").map((e) => e.id)))
        yield* wait("every job done", () => done().size === ids.length, 60_000)
        const states = yield* eventually(
          Effect.forEach(ids, (id) => Effect.map(jobs.status(id), (info) => info.state)),
          (list) => list.every((state) => state === "succeeded"),
          10_000
        )
        expect(states.length).toBe(1500)
        // every process took part, and none logged a failed statement (a lock error is logged as one)
        for (const c of children) {
          expect(c.count("done")).toBeGreaterThan(0)
          expect(c.stderr).toBe("")
        }
        expect([...done()].sort()).toEqual([...ids].sort())
        // no job ran twice: no lease was lost on the way
        expect(children.reduce((sum, c) => sum + c.count("done"), 0)).toBe(ids.length)
      }).pipe(Effect.scoped),
    90_000
  )
})
