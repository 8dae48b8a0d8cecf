// Reading and writing the `spiffworkflow:*` extension elements of a diagram element through bpmn-js
// commands (modeling.updateModdleProperties), so every change is undoable and triggers the autosave.

export function extensionOf(bo, type) {
  const values = (bo.extensionElements && bo.extensionElements.get('values')) || [];
  return values.find((value) => value.$instanceOf(type));
}

// The extension of `type` on the element's business object, created (with `props`) when missing.
export function ensureExtension(services, element, type, props = {}) {
  const { moddle, modeling } = services;
  const bo = element.businessObject;
  let container = bo.extensionElements;
  if (!container) {
    container = moddle.create('bpmn:ExtensionElements', { values: [] });
    container.$parent = bo;
    modeling.updateModdleProperties(element, bo, { extensionElements: container });
  }
  let found = extensionOf(bo, type);
  if (!found) {
    found = moddle.create(type, props);
    found.$parent = container;
    modeling.updateModdleProperties(element, container, { values: [...container.get('values'), found] });
  }
  return found;
}

export function removeExtension(services, element, type) {
  const bo = element.businessObject;
  const found = extensionOf(bo, type);
  if (found) {
    const container = bo.extensionElements;
    services.modeling.updateModdleProperties(element, container,
      { values: container.get('values').filter((value) => value !== found) });
  }
}

// An extension whose text is its body (calledDecisionId, instructionsForEndUser, preScript...): empty removes it.
export function bodyText(element, type, property) {
  const found = extensionOf(element.businessObject, type);
  return (found && found.get(property)) || '';
}

export function setBodyText(services, element, type, property, value) {
  if (!value) {
    removeExtension(services, element, type);
    return;
  }
  const found = ensureExtension(services, element, type);
  services.modeling.updateModdleProperties(element, found, { [property]: value });
}

// `<spiffworkflow:properties><spiffworkflow:property name=… value=…/>`: one named property.
export function namedProperty(element, name) {
  const list = extensionOf(element.businessObject, 'spiffworkflow:properties');
  const found = list && list.get('properties').find((p) => p.name === name);
  return found ? found.value || '' : '';
}

export function setNamedProperty(services, element, name, value) {
  const { moddle, modeling } = services;
  const list = ensureExtension(services, element, 'spiffworkflow:properties');
  const items = list.get('properties');
  const found = items.find((p) => p.name === name);
  if (!value) {
    modeling.updateModdleProperties(element, list, { properties: items.filter((p) => p !== found) });
  } else if (found) {
    modeling.updateModdleProperties(element, found, { value });
  } else {
    const created = moddle.create('spiffworkflow:property', { name, value });
    created.$parent = list;
    modeling.updateModdleProperties(element, list, { properties: [...items, created] });
  }
}
