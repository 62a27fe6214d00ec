/**
 * An HTTP service whose requests hand work to a supervisor, and that stops gracefully.
 *
 *   npx tsx examples/http-service.ts                      # a demo run (below), then it exits
 *   PORT=3000 npx tsx examples/http-service.ts --serve    # serves until SIGTERM / Ctrl-C
 *
 * - `POST /jobs?ms=300` submits a job (it takes `ms` milliseconds) to the `Jobs` supervisor
 *   (2 workers, at most 100 queued) and answers `202 {"id":1}` at once: the work runs in the
 *   background. A full queue answers 429, a service that is stopping 503.
 * - `GET /stats` answers the supervisor's `stats`.
 *
 * SIGTERM (or SIGINT): `NodeRuntime.runMain` interrupts the program, and its layers are
 * released in the reverse order of their construction. The HTTP server goes first: it stops
 * listening (new connections are refused) and waits for the requests in flight. Then the
 * `Jobs` layer, made with the supervisor's `drain` option, drains: queued and running jobs
 * run to completion for up to `DRAIN` (default 10 seconds; e.g. `DRAIN="30 seconds"`), the
 * rest are interrupted. The process exits with code 0.
 *
 * With no arguments it runs that whole story unattended: it serves on an ephemeral port, sends
 * itself four jobs (one longer than the 3 second drain it runs with), sends itself SIGTERM as
 * `kill -TERM <pid>` would, and prints what happens to each job.
 */
import {
  FetchHttpClient,
  HttpClient,
  HttpRouter,
  HttpServer,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Duration, Effect, Layer, Schema } from "effect"
import { Supervisor } from "effect-supervisor"
import { createServer } from "node:http"

const serving = process.argv.includes("--serve")

interface Job {
  readonly id: number
  readonly ms: number
}

/** The work of one job; stands in for sending an email, resizing an image, calling an API. */
const work = (job: Job) =>
  Effect.sleep(Duration.millis(job.ms)).pipe(
    Effect.zipRight(Console.log(`job ${job.id} done (${job.ms} ms)`)),
    Effect.onInterrupt(() => Console.log(`job ${job.id} interrupted (${job.ms} ms, past the drain deadline)`))
  )

const jobOptions = { workers: 2, capacity: 100, handler: work }

/** The supervisor as a service; `Jobs.Default` runs it with `jobOptions` (no drain). */
class Jobs extends Supervisor.Tag<Jobs>()("examples/Jobs", jobOptions) {}

/** How long a stop may drain the jobs before the rest are interrupted. */
const Drain = Config.duration("DRAIN").pipe(Config.withDefault(Duration.seconds(serving ? 10 : 3)))

/** `Jobs` with a graceful drain on release (the `drain` option), its deadline from `DRAIN`. */
const JobsLive = Layer.unwrapEffect(Effect.map(Drain, (drain) => Supervisor.layer(Jobs, { ...jobOptions, drain })))

/** Says what a stop finds: released once the HTTP server has closed, before `Jobs` drains. */
const AnnounceStop = Layer.scopedDiscard(
  Effect.gen(function*() {
    const jobs = yield* Jobs
    const drain = yield* Drain
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(jobs.stats, (stats) =>
        Console.log(
          `stopping: no new connections; draining ${stats.running} running and ${stats.queued} queued jobs ` +
            `for up to ${Duration.format(drain)}`
        ))
    )
  })
)

let lastId = 0

const Search = Schema.Struct({ ms: Schema.NumberFromString.pipe(Schema.int(), Schema.between(0, 3_600_000)) })

const router = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/jobs",
    Effect.gen(function*() {
      const { ms } = yield* HttpServerRequest.schemaSearchParams(Search)
      const jobs = yield* Jobs
      const job: Job = { id: ++lastId, ms }
      // `offer` never holds the request: a full queue is the client's signal to back off
      return (yield* jobs.offer(job))
        ? yield* HttpServerResponse.json({ id: job.id }, { status: 202 })
        : HttpServerResponse.text("queue full\n", { status: 429 })
    }).pipe(
      Effect.catchTags({
        ParseError: () =>
          Effect.succeed(HttpServerResponse.text("ms must be an integer of milliseconds\n", { status: 400 })),
        SupervisorClosed: () => Effect.succeed(HttpServerResponse.text("stopping\n", { status: 503 }))
      })
    )
  ),
  HttpRouter.get("/stats", Effect.flatMap(Jobs, (jobs) => Effect.flatMap(jobs.stats, HttpServerResponse.json)))
)

// Each layer is built after the ones it is provided with, and released before them: the server
// closes first, then AnnounceStop speaks, then Jobs drains.
const HttpLive = HttpServer.serve(router).pipe(
  Layer.provideMerge(NodeHttpServer.layerConfig(createServer, {
    port: Config.integer("PORT").pipe(Config.withDefault(serving ? 3000 : 0)),
    host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))
  })),
  Layer.provide(AnnounceStop),
  Layer.provide(JobsLive)
)

/** The demo run: four jobs, then the signal a process manager sends to stop a service. */
const demo = (address: string) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    for (const ms of [1000, 1200, 800, 10_000]) {
      const response = yield* client.post(`${address}/jobs?ms=${ms}`)
      yield* Console.log(`POST /jobs?ms=${ms} -> ${response.status} ${yield* response.text}`)
    }
    yield* Console.log(`sending SIGTERM to myself, as kill -TERM ${process.pid} would`)
    process.kill(process.pid, "SIGTERM")
  }).pipe(Effect.provide(FetchHttpClient.layer), Effect.orDie)

const main = Effect.gen(function*() {
  const address = yield* HttpServer.addressFormattedWith(Effect.succeed)
  yield* Console.log(`listening on ${address} (pid ${process.pid})`)
  if (!serving) yield* demo(address)
  // serve until the signal: runMain interrupts this fiber, and the layers are released
  return yield* Effect.never
}).pipe(Effect.provide(HttpLive))

NodeRuntime.runMain(main)
