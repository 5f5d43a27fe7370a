// Demo-mode requests the unprivileged web may make of the agent (AgentRequest rows): the
// dashboard's "simulate failure"/"restore" break and repair an ISP of the lab. `linkward agent`
// injects these handlers (AgentOptions.requestHandlers) when LINKWARD_DEMO_LAB is set; the agent
// itself never imports the lab. Only these request types with validated arguments are honoured.
import { z } from 'zod';
import { nameSchema } from '../lib/validations/config';
import { labBreak, labRestore } from './lab';

const uplinkArgs = z.object({ uplink: nameSchema }).strict();

/** In demo mode (LINKWARD_DEMO_LAB=<lab prefix>) the dashboard's "simulate failure" breaks the
 *  uplink's ISP in the lab. Outside demo mode these request types are refused. */
export function demoRequestHandlers(): Record<string, (args: Record<string, unknown>) => Promise<string>> {
  const prefix = process.env.LINKWARD_DEMO_LAB;
  if (!prefix) return {};
  return {
    'lab.break': async (args) => {
      const { uplink } = uplinkArgs.parse(args);
      await labBreak(prefix, uplink);
      return `broke ${uplink} in lab ${prefix}`;
    },
    'lab.restore': async (args) => {
      const { uplink } = uplinkArgs.parse(args);
      await labRestore(prefix, uplink);
      return `restored ${uplink} in lab ${prefix}`;
    },
  };
}
