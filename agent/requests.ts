// Requests the unprivileged web may make of the agent (AgentRequest rows). Only a fixed set of
// request types with validated arguments is honoured.
import { z } from 'zod';
import { nameSchema } from '../lib/validations/config';

const uplinkArgs = z.object({ uplink: nameSchema }).strict();

/** In demo mode (LINKWARD_DEMO_LAB=<lab prefix>) the dashboard's "simulate failure" breaks the
 *  uplink's ISP in the lab. Outside demo mode these request types are refused. */
export function demoRequestHandlers(): Record<string, (args: Record<string, unknown>) => Promise<string>> {
  const prefix = process.env.LINKWARD_DEMO_LAB;
  if (!prefix) return {};
  return {
    'lab.break': async (args) => {
      const { uplink } = uplinkArgs.parse(args);
      const lab = await import('./system/lab');
      await lab.labBreak(prefix, uplink);
      return `broke ${uplink} in lab ${prefix}`;
    },
    'lab.restore': async (args) => {
      const { uplink } = uplinkArgs.parse(args);
      const lab = await import('./system/lab');
      await lab.labRestore(prefix, uplink);
      return `restored ${uplink} in lab ${prefix}`;
    },
  };
}
