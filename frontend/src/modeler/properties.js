// The properties panel's SpiffWorkflow groups: each choice comes from the studio catalogue (operators
// with their parameters, SLA names, form schemas, lanes and their roles, deployed decisions), so what is
// picked here is what the engine and the deploy check know. Values outside a list (a typo, a name from
// elsewhere) stay visible, marked, so the validation's message can be understood and fixed here.
import {
  SelectEntry, TextAreaEntry, TextFieldEntry, isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited,
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { is } from 'bpmn-js/lib/util/ModelUtil';
import { bodyText, namedProperty, setBodyText, setNamedProperty } from './extensions.js';
import { operatorOf, parameterElements, setOperator, setParameter } from './operator.js';
import { setSla, slaName, timerOf, timerText } from './timer.js';

const FORM_PROPERTY = 'formJsonSchemaFilename';
const NONE = { value: '', label: '— не выбрано —' };

function services() {
  return { modeling: useService('modeling'), moddle: useService('moddle') };
}

// Options for `current` among `choices`; a current value that is not a choice is listed, marked.
function withCurrent(choices, current, unknownLabel) {
  const options = [NONE, ...choices];
  if (current && !choices.some((o) => o.value === current)) {
    options.push({ value: current, label: `${current} (${unknownLabel})` });
  }
  return options;
}

function select(props, label, getValue, setValue, getOptions, description) {
  return SelectEntry({ element: props.element, id: props.id, label, description, getValue, setValue, getOptions });
}

function textField(props, label, getValue, setValue, description) {
  return TextFieldEntry({ element: props.element, id: props.id, label, description, getValue, setValue,
    debounce: useService('debounceInput') });
}

function textArea(props, label, getValue, setValue, description) {
  return TextAreaEntry({ element: props.element, id: props.id, label, description, getValue, setValue,
    debounce: useService('debounceInput'), monospace: true, rows: 4 });
}

// ---------------------------------------------------------------- service task
function OperatorSelect(props) {
  const { catalogue } = props;
  const svc = services();
  const find = (name) => catalogue.operators.find((o) => o.name === name);
  return select(props, 'Оператор',
    () => (operatorOf(props.element) || {}).id || '',
    (name) => setOperator(svc, props.element, name, find(name)),
    () => withCurrent(catalogue.operators.map((o) => ({ value: o.name, label: o.name })),
      (operatorOf(props.element) || {}).id, 'нет такого оператора'),
    'Операторы, которые регистрируют обработчики (workers).');
}

function OperatorName(props) {
  const svc = services();
  return textField(props, 'Имя оператора',
    () => (operatorOf(props.element) || {}).id || '',
    (name) => setOperator(svc, props.element, name || '', props.catalogue.operators.find((o) => o.name === name)),
    'То же имя, набранное вручную.');
}

function ResultVariable(props) {
  const svc = services();
  return textField(props, 'Переменная результата',
    () => (operatorOf(props.element) || {}).resultVariable || '',
    (value) => {
      const operator = operatorOf(props.element);
      if (operator) {
        svc.modeling.updateModdleProperties(props.element, operator, { resultVariable: value || undefined });
      }
    });
}

function ParameterValue(props) {
  const svc = services();
  const { name, required } = props.parameter;
  return textField(props, `Параметр «${name}»${required ? ' (обязательный)' : ''}`,
    () => (parameterElements(props.element).find((p) => p.id === name) || {}).value || '',
    (value) => setParameter(svc, props.element, name, value || '', required),
    'Выражение Python над данными заявки.');
}

function operatorGroup(element, catalogue) {
  const name = (operatorOf(element) || {}).id;
  const known = catalogue.operators.find((o) => o.name === name);
  const declared = known ? known.parameters : [];
  const extra = parameterElements(element).filter((p) => !declared.some((d) => d.name === p.id))
    .map((p) => ({ name: p.id, required: false }));
  const entries = [
    { id: 'spiff-operator', component: OperatorSelect, catalogue, isEdited: isSelectEntryEdited },
    { id: 'spiff-operator-name', component: OperatorName, catalogue, isEdited: isTextFieldEntryEdited },
    { id: 'spiff-result-variable', component: ResultVariable, isEdited: isTextFieldEntryEdited },
    ...[...declared, ...extra].map((parameter) => ({
      id: `spiff-parameter-${parameter.name}`, component: ParameterValue, parameter, isEdited: isTextFieldEntryEdited,
    })),
  ];
  return { id: 'spiff-operator-group', label: 'Сервисная задача', entries };
}

// ---------------------------------------------------------------- timers, scripts, forms, lanes, decisions
function SlaSelect(props) {
  const svc = services();
  const { catalogue } = props;
  const current = () => {
    const text = timerText(props.element);
    return slaName(text) ?? (text ? `expr:${text}` : '');
  };
  return select(props, 'Срок (SLA)', current, (name) => name && !name.startsWith('expr:') && setSla(svc, props.element, name),
    () => {
      const options = [NONE, ...catalogue.sla.map((s) => ({ value: s.name, label: `${s.name} — ${s.value}` }))];
      const value = current();
      if (value.startsWith('expr:')) {
        options.push({ value, label: `выражение: ${value.slice(5)}` });
      } else if (value && !catalogue.sla.some((s) => s.name === value)) {
        options.push({ value, label: `${value} (нет такого срока)` });
      }
      return options;
    }, 'Таймер сработает через этот срок из каталога sla.toml: sla("имя").');
}

function ScriptText(props) {
  const svc = services();
  return textArea(props, 'Скрипт (Python)', () => props.element.businessObject.script || '',
    (value) => svc.modeling.updateModdleProperties(props.element, props.element.businessObject, { script: value }));
}

function ExtensionScript(props) {
  const svc = services();
  return textArea(props, props.label, () => bodyText(props.element, props.type, 'script'),
    (value) => setBodyText(svc, props.element, props.type, 'script', value));
}

function FormSelect(props) {
  const svc = services();
  const { catalogue } = props;
  return select(props, 'Форма', () => namedProperty(props.element, FORM_PROPERTY),
    (value) => setNamedProperty(svc, props.element, FORM_PROPERTY, value),
    () => withCurrent(catalogue.forms.map((f) => ({ value: f.file, label: f.title ? `${f.title} (${f.file})` : f.file })),
      namedProperty(props.element, FORM_PROPERTY), 'нет такой формы'),
    'JSON Schema формы из forms/schemas.');
}

function Instructions(props) {
  const svc = services();
  return textArea(props, 'Инструкции исполнителю',
    () => bodyText(props.element, 'spiffworkflow:instructionsForEndUser', 'text'),
    (value) => setBodyText(svc, props.element, 'spiffworkflow:instructionsForEndUser', 'text', value),
    'Текст над формой; можно подставлять данные: {{ case["number"] }}.');
}

function LaneSelect(props) {
  const svc = services();
  const { catalogue } = props;
  return select(props, 'Дорожка (роль)', () => props.element.businessObject.name || '',
    (name) => svc.modeling.updateProperties(props.element, { name }),
    () => withCurrent(catalogue.lanes.map((l) => ({ value: l.name, label: `${l.name} — ${l.role_label}` })),
      props.element.businessObject.name, 'нет в lanes.toml'),
    'Задачи дорожки попадают в очередь этой роли.');
}

function DecisionSelect(props) {
  const svc = services();
  const { catalogue } = props;
  const type = 'spiffworkflow:calledDecisionId';
  return select(props, 'Таблица решений', () => bodyText(props.element, type, 'decisionId'),
    (value) => setBodyText(svc, props.element, type, 'decisionId', value),
    () => withCurrent(catalogue.decisions.map((d) => ({ value: d.id, label: `${d.name || d.id} (${d.file})` })),
      bodyText(props.element, type, 'decisionId'), 'нет такого решения'));
}

function groupsFor(element, catalogue) {
  const groups = [];
  if (is(element, 'bpmn:ServiceTask')) {
    groups.push(operatorGroup(element, catalogue));
  }
  if (is(element, 'bpmn:Event') && timerOf(element)) {
    groups.push({ id: 'spiff-timer', label: 'Таймер', entries: [
      { id: 'spiff-sla', component: SlaSelect, catalogue, isEdited: isSelectEntryEdited }] });
  }
  if (is(element, 'bpmn:UserTask') || is(element, 'bpmn:ManualTask')) {
    groups.push({ id: 'spiff-form', label: 'Форма исполнителя', entries: [
      { id: 'spiff-form-file', component: FormSelect, catalogue, isEdited: isSelectEntryEdited },
      { id: 'spiff-instructions', component: Instructions, isEdited: isTextAreaEntryEdited }] });
  }
  if (is(element, 'bpmn:BusinessRuleTask')) {
    groups.push({ id: 'spiff-decision', label: 'Решение', entries: [
      { id: 'spiff-decision-id', component: DecisionSelect, catalogue, isEdited: isSelectEntryEdited }] });
  }
  if (is(element, 'bpmn:Lane')) {
    groups.push({ id: 'spiff-lane', label: 'Роль', entries: [
      { id: 'spiff-lane-name', component: LaneSelect, catalogue, isEdited: isSelectEntryEdited }] });
  }
  if (is(element, 'bpmn:Activity')) {
    const scripts = is(element, 'bpmn:ScriptTask')
      ? [{ id: 'spiff-script', component: ScriptText, isEdited: isTextAreaEntryEdited }] : [];
    groups.push({ id: 'spiff-scripts', label: 'Скрипты', entries: [...scripts,
      { id: 'spiff-pre-script', component: ExtensionScript, type: 'spiffworkflow:preScript',
        label: 'Скрипт до задачи', isEdited: isTextAreaEntryEdited },
      { id: 'spiff-post-script', component: ExtensionScript, type: 'spiffworkflow:postScript',
        label: 'Скрипт после задачи', isEdited: isTextAreaEntryEdited }] });
  }
  return groups;
}

export default function SpiffPropertiesProvider(propertiesPanel, studioCatalogue) {
  this.getGroups = (element) => (groups) => {
    const general = groups.findIndex((g) => g.id === 'general');
    groups.splice(general + 1, 0, ...groupsFor(element, studioCatalogue));
    return groups;
  };
  propertiesPanel.registerProvider(500, this);
}
SpiffPropertiesProvider.$inject = ['propertiesPanel', 'studioCatalogue'];
