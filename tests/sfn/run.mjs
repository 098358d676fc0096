// Executes the failover state machine locally.
//
//   node --require ./polyfill.cjs run.mjs --asl FILE --region R --invoke URL [--speed N]
//        [--emulator URL] [--poll-seconds S] [--approve] [--validate-only] < input.json
//
// With --emulator, Wait states do not sleep: each moves the emulator's modeled clock forward by
// its duration (POST /_drover/clock {"advance_to"}), so real work costs real time and waiting
// costs modeled time only; parallel branches waiting side by side end at the later target.
//
// The ASL template is rendered as Terraform renders it (${fn_<name>} -> a Lambda ARN in R).
// Every Task state calls the Lambda Invoke API at URL (cargo lambda watch) with its input;
// a function error becomes a States error named by its errorType ("Retryable",
// "NonRetryable"), so the definition's Retry and Catch apply as in AWS. Wait states and retry
// intervals run `speed` times faster than written (the emulator's modeled clock).
// Output: one JSON line per execution event ({"t": epoch ms, ...}), then {"result": ...}
// or {"error": ..., "cause": ...}. Exit code 0 when the execution succeeded.

import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';
import aslValidator from 'asl-validator';

function args(argv) {
  const out = { speed: 1, pollSeconds: 10, approve: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '--asl': out.asl = value(); break;
      case '--region': out.region = value(); break;
      case '--invoke': out.invoke = value(); break;
      case '--speed': out.speed = Number(value()); break;
      case '--account': out.account = value(); break;
      case '--validate-only': out.validateOnly = true; break;
      case '--poll-seconds': out.pollSeconds = Number(value()); break;
      case '--approve': out.approve = true; break;
      case '--emulator': out.emulator = value(); break;
      default: throw new Error(`unknown argument ${flag}`);
    }
  }
  if (!out.asl) throw new Error('--asl is required');
  if (!(out.speed > 0)) throw new Error('--speed must be positive');
  return out;
}

function emit(obj) {
  process.stdout.write(`${JSON.stringify({ t: Date.now(), ...obj })}\n`);
}

/** Renders ${fn_x} as Terraform's templatefile does with the function ARNs. */
export function render(template, region, account) {
  return template.replace(/\$\{fn_([a-z_]+)\}/g, (_, name) =>
    `arn:aws:lambda:${region}:${account}:function:${name.replace(/_/g, '-')}`);
}

function functionName(arn) {
  return arn.split(':').pop();
}

const WAIT_RESOURCE = 'arn:aws:lambda:local:000000000000:function:drover-modeled-wait';

/** `$.a.b` on a plain object (the only JSONPath form the Wait states use). */
function jsonPath(obj, path) {
  return path.replace(/^\$\.?/, '').split('.').filter(Boolean).reduce((o, k) => (o == null ? o : o[k]), obj);
}

/** Wait states become Tasks that advance the modeled clock; their path is kept in Comment. */
function advanceWaits(states) {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Wait') {
      states[name] = {
        Type: 'Task',
        Resource: WAIT_RESOURCE,
        Comment: state.SecondsPath ?? String(state.Seconds ?? ''),
        ...(state.Next ? { Next: state.Next } : { End: true }),
      };
    }
    for (const branch of state.Branches ?? []) advanceWaits(branch.States);
  }
}

function walk(states, visit) {
  for (const [name, state] of Object.entries(states)) {
    visit(name, state);
    for (const branch of state.Branches ?? []) walk(branch.States, visit);
    if (state.Iterator) walk(state.Iterator.States, visit);
    if (state.ItemProcessor) walk(state.ItemProcessor.States, visit);
  }
}

async function invoke(url, fn, payload) {
  const res = await fetch(`${url}/2015-03-31/functions/${fn}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { errorType: 'Lambda.InvalidResponse', errorMessage: text };
  }
  if (!res.ok || res.headers.get('x-amz-function-error') || (body && body.errorType && body.errorMessage !== undefined && Object.keys(body).every((k) => ['errorType', 'errorMessage', 'stackTrace'].includes(k)))) {
    const err = new Error(body?.errorMessage ?? `HTTP ${res.status}`);
    err.name = body?.errorType ?? 'Lambda.ServiceException';
    throw err;
  }
  return body;
}

async function main() {
  const a = args(process.argv.slice(2));
  const definition = JSON.parse(render(readFileSync(a.asl, 'utf8'), a.region ?? 'us-east-1', a.account ?? '123456789012'));
  const validate = aslValidator.default ?? aslValidator;
  const { isValid, errorsText } = validate(definition);
  if (!isValid) {
    emit({ type: 'InvalidDefinition', errors: errorsText('\n') });
    process.exit(2);
  }
  if (a.validateOnly) {
    emit({ type: 'ValidDefinition' });
    return;
  }
  if (!a.invoke) throw new Error('--invoke is required to run');
  const input = JSON.parse(readFileSync(0, 'utf8') || 'null');

  if (a.emulator) advanceWaits(definition.States);
  const taskResourceLocalHandlers = {};
  const waitTimeOverrides = {};
  const retryIntervalOverrides = {};
  walk(definition.States, (name, state) => {
    if (state.Type === 'Task' && String(state.Resource).includes('.waitForTaskToken')) {
      // A person approves through SendTaskSuccess; locally --approve plays that person.
      taskResourceLocalHandlers[name] = async (payload) => {
        emit({ type: 'ApprovalRequested', state: name, request: payload });
        if (a.approve) return { approved_by: 'drover-sfn-local --approve' };
        const err = new Error('no approval given (run with --approve to approve)');
        err.name = 'States.Timeout';
        throw err;
      };
      return;
    }
    if (state.Type === 'Task' && state.Resource === WAIT_RESOURCE) {
      taskResourceLocalHandlers[name] = async (payload) => {
        const spec = String(state.Comment ?? '');
        const seconds = Number(spec.startsWith('$') ? jsonPath(payload, spec) : spec);
        const clock = await (await fetch(`${a.emulator}/_drover/clock`)).json();
        const target = clock.modeled_now + (Number.isFinite(seconds) ? seconds : a.pollSeconds);
        await fetch(`${a.emulator}/_drover/clock`, { method: 'POST', body: JSON.stringify({ advance_to: target }) });
        emit({ type: 'ModeledWait', state: name, seconds, until: target });
        return payload;
      };
      return;
    }
    if (state.Type === 'Task') {
      const fn = functionName(state.Resource);
      taskResourceLocalHandlers[name] = async (payload) => {
        emit({ type: 'Invoke', state: name, function: fn });
        return invoke(a.invoke, fn, payload);
      };
      for (const r of state.Retry ?? []) {
        retryIntervalOverrides[name] = ((r.IntervalSeconds ?? 1) * 1000) / a.speed;
      }
    }
    if (state.Type === 'Wait') {
      // SecondsPath waits (a step's suggested wait) poll every --poll-seconds of modeled time.
      const seconds = typeof state.Seconds === 'number' ? state.Seconds : a.pollSeconds;
      waitTimeOverrides[name] = (seconds * 1000) / a.speed;
    }
  });

  const machine = new StateMachine(definition, { validationOptions: { checkPaths: true, checkArn: false } });
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
    context: { Execution: { Id: `local-${Date.now()}`, Input: input, StartTime: new Date().toISOString() } },
  });
  const logging = (async () => {
    for await (const event of execution.eventLogs) emit(event);
  })();
  try {
    const result = await execution.result;
    await logging;
    emit({ result });
  } catch (e) {
    await logging.catch(() => {});
    emit({ error: e.name ?? 'Error', cause: e.message ?? String(e) });
    process.exitCode = 1;
  }
}

main().catch((e) => {
  emit({ error: 'RunnerError', cause: e.message });
  process.exit(2);
});
