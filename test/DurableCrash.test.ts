import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Durable } from "effect-supervisor/durable"
import { dropPgTables, processTargets, removeDir, requirePg, storeFor, tempDir } from "./durable/backends.js"
import { CrashJobs } from "./durable/child.js"
import { Child, until } from "./durable/children.js"

const dir = tempDir()
const tables: Array<string> = []
beforeAll(requirePg)
afterAll(async () => {
  removeDir(dir)
  await dropPgTables(tables)
})

const targets = processTargets(() => dir, tables, "crash")

/** enqueues `n` jobs and returns a reader of their final states */
const seed = (backend: string, where: string, lease: number, n: number) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const producer = yield* Durable.producer(CrashJobs(lease))
      return yield* producer.offerAll(Array.from({ length: n }, (_, i) => i))
    }).pipe(Effect.provide(storeFor(backend, where)))
  )

const finalStates = (backend: string, where: string, lease: number, ids: ReadonlyArray<string>) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const producer = yield* Durable.producer(CrashJobs(lease))
      return yield* Effect.forEach(ids, (id) => Effect.map(producer.status(id), (info) => info.state), {
        concurrency: 8
      })
    }).pipe(Effect.provide(storeFor(backend, where)))
  )

for (const target of targets) {
  describe(`Durable crash recovery on ${target.name}`, () => {
    it("kill -9 of one of 2 consumers after 1,000 of 4,000 jobs: 0 lost, recovery <= lease + 3 s", async () => {
      const where = target.where()
      const lease = 2000
      const ids = await seed(target.name, where, lease, 4000)
      const children: Array<Child> = []
      const done = () =>
        new Set(children.flatMap((child) => child.events.filter((e) => e.kind === "done").map((e) => e.id)))
      const args = [target.name, where, "25", "auto", String(lease), "20"]
      let killedAt = 0
      const victim = new Child(args, () => {
        if (killedAt === 0 && victim.count("done") + survivor.count("done") >= 1000) {
          killedAt = Date.now()
          victim.process.kill("SIGKILL")
        }
      })
      const survivor = new Child(args, () => undefined)
      children.push(victim, survivor)
      try {
        await Promise.all([victim.ready, survivor.ready])
        await until(() => done().size === 4000, 60_000, "every job done")
        await victim.exited
        const states = await finalStates(target.name, where, lease, ids)
        expect(states.filter((state) => state !== "succeeded")).toEqual([])
        // duplicates: jobs the victim had started or held whose acknowledgement it never wrote
        const victimStarted = new Set(victim.events.filter((e) => e.kind === "start").map((e) => e.id))
        const rerun = survivor.events.filter((e) => e.kind === "start" && e.attempt > 1)
        for (const event of rerun) expect(event.at).toBeGreaterThanOrEqual(killedAt)
        const victimDone = new Set(victim.events.filter((e) => e.kind === "done").map((e) => e.id))
        const duplicates = rerun.filter((e) => victimDone.has(e.id))
        // each duplicate ran in the victim, and the victim held at most its workers + prefetch
        for (const event of duplicates) expect(victimStarted.has(event.id)).toBe(true)
        expect(rerun.length).toBeLessThanOrEqual(25 + 256 + 100)
        const recovery = Math.max(0, ...rerun.map((e) => e.at - killedAt))
        expect(recovery).toBeLessThanOrEqual(lease + 3000)
        console.log(
          `${target.name}: killed after ${victimDone.size} of its jobs; ${rerun.length} re-delivered ` +
            `(${duplicates.length} had run to the end unacknowledged); recovery ${recovery} ms`
        )
      } finally {
        for (const child of children) child.process.kill("SIGKILL")
      }
    }, 90_000)

    it("SIGSTOP past the lease, then SIGCONT: the frozen consumer starts none of its prefetched jobs", async () => {
      const where = target.where()
      const lease = 1000
      const ids = await seed(target.name, where, lease, 40)
      const frozen = new Child([target.name, where, "2", "20", String(lease), "100"], () => undefined)
      let peer: Child | undefined
      try {
        await frozen.ready
        await until(() => frozen.count("start") >= 2, 10_000, "the first jobs start")
        frozen.process.kill("SIGSTOP")
        const stoppedAt = Date.now()
        const startedBeforeStop = new Set(frozen.events.filter((e) => e.kind === "start").map((e) => e.id))
        peer = new Child([target.name, where, "4", "auto", String(lease), "10"], () => undefined)
        await peer.ready
        await until(() => Date.now() - stoppedAt > lease + 500, 10_000, "the lease runs out")
        // thawed only once the peer has taken over an expired job: a fixed wait let a slow peer
        // (its idle poll) miss the expiry, and the thawed consumer re-claim its own jobs first
        await until(
          () => peer!.events.some((e) => e.kind === "start" && e.attempt > 1),
          10_000,
          "the peer re-delivers a job of the frozen consumer"
        )
        frozen.process.kill("SIGCONT")
        const continuedAt = Date.now()
        await until(() => peer!.count("done") + frozen.count("done") >= 40, 20_000, "peer finishes the work")
        // real time on purpose: the subject is OS processes (SIGSTOP/SIGCONT), not the Effect clock
        await new Promise((resolve) => setTimeout(resolve, 500))
        // after the thaw the frozen consumer may claim afresh, but none of the jobs it held at the
        // freeze (and the peer took over) may start in it: only those running at the freeze run twice
        const startsOf = (child: Child) => child.events.filter((e) => e.kind === "start").map((e) => e.id)
        const peerStarted = new Set(startsOf(peer))
        const twice = [...new Set(startsOf(frozen))].filter((id) => peerStarted.has(id))
        expect(twice.filter((id) => !startedBeforeStop.has(id))).toEqual([])
        expect(peer.events.some((e) => e.kind === "start" && e.attempt > 1)).toBe(true)
        expect(frozen.events.filter((e) => e.kind === "start" && e.at >= continuedAt && peerStarted.has(e.id)))
          .toEqual([])
        const states = await finalStates(target.name, where, lease, ids)
        expect(states.filter((state) => state !== "succeeded")).toEqual([])
      } finally {
        frozen.process.kill("SIGKILL")
        peer?.process.kill("SIGKILL")
      }
    }, 60_000)
  })
}
