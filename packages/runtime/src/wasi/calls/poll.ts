import { Right } from '@veracruz-ts/policy';
import { Errno } from '../../vfs/errno.ts';
import { MAX_SUBSCRIPTIONS } from '../abi.ts';
import { nowNanoseconds, sleep } from '../clock.ts';
import { defineSystemCalls } from '../system-call-handler.ts';

/**
 * Waiting: poll_oneoff sleeps until its earliest clock subscription (an absolute deadline only
 * where the policy enables clocks), and answers descriptor subscriptions at once, since a VFS
 * descriptor is always ready; sched_yield has nothing to yield to.
 */
export const POLL_CALLS = defineSystemCalls({
  poll_oneoff: (context, input, output, count, result) => {
    if (count === 0 || count > MAX_SUBSCRIPTIONS) return Errno.INVAL;
    const view = context.memory.view();
    const events: { userdata: bigint; error: number; type: number; nbytes: bigint }[] = [];
    let earliest = Infinity;
    const clocks: { userdata: bigint; deadline: number }[] = [];
    const start = performance.now();
    for (let index = 0; index < count; index++) {
      const at = input + index * 48;
      const userdata = view.getBigUint64(at, true);
      const tag = view.getUint8(at + 8);
      if (tag === 0) {
        const clock = view.getUint32(at + 16, true);
        const timeout = view.getBigUint64(at + 24, true);
        const absolute = (view.getUint16(at + 40, true) & 1) !== 0;
        let waitMs: number;
        if (absolute) {
          // An absolute deadline reads the clock: only where the policy enables clocks.
          if (!context.enableClock) {
            events.push({ userdata, error: Errno.ACCES, type: 0, nbytes: 0n });
            continue;
          }
          const now = clock === 0 ? nowNanoseconds() : clock === 1 ? process.hrtime.bigint() : BigInt(Math.round(performance.now() * 1e6));
          waitMs = Number(timeout - now) / 1e6;
        } else {
          waitMs = Number(timeout) / 1e6;
        }
        clocks.push({ userdata, deadline: start + waitMs });
        earliest = Math.min(earliest, start + waitMs);
      } else if (tag === 1 || tag === 2) {
        const fd = view.getUint32(at + 16, true);
        const descriptor = context.table.get(fd);
        let error: number = Errno.SUCCESS;
        let nbytes = 0n;
        if (descriptor === undefined) error = Errno.BADF;
        else if ((descriptor.rightsBase & Right.POLL_FD_READWRITE) === 0 && (descriptor.rightsBase & (tag === 1 ? Right.FD_READ : Right.FD_WRITE)) === 0) error = Errno.NOTCAPABLE;
        else if (tag === 1 && descriptor.type === 'file') nbytes = BigInt(Math.max(0, descriptor.node.data.size - descriptor.offset));
        events.push({ userdata, error, type: tag, nbytes });
      } else {
        return Errno.INVAL;
      }
    }
    const finish = (): number => {
      const now = performance.now();
      for (const clock of clocks) if (clock.deadline <= now + 0.001 || events.length === 0) events.push({ userdata: clock.userdata, error: 0, type: 0, nbytes: 0n });
      const out = context.memory.view();
      events.forEach((event, index) => {
        const at = output + index * 32;
        for (let byte = 0; byte < 32; byte++) out.setUint8(at + byte, 0);
        out.setBigUint64(at, event.userdata, true);
        out.setUint16(at + 8, event.error, true);
        out.setUint8(at + 10, event.type);
        out.setBigUint64(at + 16, event.nbytes, true);
      });
      out.setUint32(result, events.length, true);
      return Errno.SUCCESS;
    };
    if (events.length > 0 || clocks.length === 0) return finish();
    return sleep(earliest - performance.now()).then(finish);
  },
  sched_yield: (_context) => Errno.SUCCESS,
});
