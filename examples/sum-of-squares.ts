/**
 * The seed program: 100 numbers, 5 workers, each worker squares its numbers and the
 * supervisor folds the squares into one sum.
 *
 *   npx tsx examples/sum-of-squares.ts   →   Sum of squares: 338350
 */
import { Console, Effect } from "effect"
import { Supervisor } from "effect-supervisor"

const items = Array.from({ length: 100 }, (_, i) => i + 1)

const program = Effect.gen(function*() {
  const summary = yield* Supervisor.run(items, {
    workers: 5,
    handler: (n: number) => Effect.succeed(n * n),
    initial: 0,
    combine: (sum, square) => sum + square
  })
  yield* Console.log(`Sum of squares: ${summary.state}`)
  yield* Console.log(
    `(${summary.stats.succeeded} tasks succeeded, ${summary.failures.length} failed, ${summary.pending.length} never started)`
  )
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
