// A service task's `spiffworkflow:serviceTaskOperator`: which registered operator it calls and the
// parameters (Python expressions) it passes, named as the operator's function takes them.
import { ensureExtension, extensionOf } from './extensions.js';

const OPERATOR = 'spiffworkflow:serviceTaskOperator';

export function operatorOf(element) {
  return extensionOf(element.businessObject, OPERATOR);
}

export function parameterElements(element) {
  const operator = operatorOf(element);
  return (operator && operator.parameterList && operator.parameterList.get('parameters')) || [];
}

function parameterList(services, element, operator) {
  if (operator.parameterList) {
    return operator.parameterList;
  }
  const list = services.moddle.create('spiffworkflow:parameters', { parameters: [] });
  list.$parent = operator;
  services.modeling.updateModdleProperties(element, operator, { parameterList: list });
  return list;
}

// Points the task at operator `name`; with a known operator its parameter list follows the signature:
// parameters it does not take are dropped, required ones it lacks are added empty for the analyst to fill.
export function setOperator(services, element, name, known) {
  const operator = ensureExtension(services, element, OPERATOR, { id: name });
  services.modeling.updateModdleProperties(element, operator, { id: name });
  if (!known) {
    return;
  }
  const list = parameterList(services, element, operator);
  const accepted = new Set(known.parameters.map((p) => p.name));
  const kept = list.get('parameters').filter((p) => accepted.has(p.id));
  const added = known.parameters.filter((p) => p.required && !kept.some((k) => k.id === p.name)).map((p) => {
    const created = services.moddle.create('spiffworkflow:parameter', { id: p.name, type: 'any', value: '' });
    created.$parent = list;
    return created;
  });
  services.modeling.updateModdleProperties(element, list, { parameters: [...kept, ...added] });
}

// Sets a parameter's expression; an empty expression of an optional parameter removes it.
export function setParameter(services, element, name, value, required) {
  const operator = operatorOf(element);
  if (!operator) {
    return;
  }
  const list = parameterList(services, element, operator);
  const items = list.get('parameters');
  const found = items.find((p) => p.id === name);
  if (!value && !required) {
    services.modeling.updateModdleProperties(element, list, { parameters: items.filter((p) => p !== found) });
  } else if (found) {
    services.modeling.updateModdleProperties(element, found, { value });
  } else {
    const created = services.moddle.create('spiffworkflow:parameter', { id: name, type: 'any', value });
    created.$parent = list;
    services.modeling.updateModdleProperties(element, list, { parameters: [...items, created] });
  }
}
