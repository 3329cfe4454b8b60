import { MacrotaskPacer } from '../src/adapters/system/pacer.ts'
import { pacerContract } from './contracts/pacer.contract.ts'

// The runtime's own choice (Node: setImmediate), the Web fallback (Workers: setTimeout 0), and
// `scheduler.yield()` where a runtime has it (modelled here on setTimeout, as browsers run it).
pacerContract('setImmediate', () => new MacrotaskPacer())
pacerContract('setTimeout', () => new MacrotaskPacer({}))
pacerContract(
  'scheduler.yield',
  () =>
    new MacrotaskPacer({
      scheduler: { yield: () => new Promise<void>((resolve) => setTimeout(resolve, 0)) },
    })
)
