// A timer event's expression as our diagrams write it: `sla("name")` in bpmn:timeDate, the name taken
// from the SLA catalogue (the engine's sla() function turns it into a due date in business days).

const SLA_CALL = /^\s*sla\(\s*"([^"]*)"\s*\)\s*$/;

export function timerOf(element) {
  const definitions = element.businessObject.eventDefinitions || [];
  return definitions.find((d) => d.$instanceOf('bpmn:TimerEventDefinition'));
}

function expression(timer) {
  return timer.timeDate || timer.timeDuration || timer.timeCycle;
}

export function timerText(element) {
  const timer = timerOf(element);
  const expr = timer && expression(timer);
  return (expr && expr.body) || '';
}

// The SLA name of a literal `sla("name")`, or null for any other expression.
export function slaName(text) {
  const match = SLA_CALL.exec(text);
  return match ? match[1] : null;
}

export function setSla(services, element, name) {
  const timer = timerOf(element);
  const body = `sla("${name}")`;
  if (timer.timeDate) {
    services.modeling.updateModdleProperties(element, timer.timeDate, { body });
    return;
  }
  const timeDate = services.moddle.create('bpmn:FormalExpression', { body });
  timeDate.$parent = timer;
  services.modeling.updateModdleProperties(element, timer,
    { timeDate, timeDuration: undefined, timeCycle: undefined });
}
