// Russian for the modeler's own words (palette, context pad, the standard properties groups). A text
// without a translation stays as bpmn-js wrote it; `{name}` placeholders are filled as bpmn-js does.
const RU = {
  // properties panel
  General: 'Общие', Name: 'Название', ID: 'Идентификатор', Documentation: 'Описание',
  'Element documentation': 'Описание элемента', 'Process documentation': 'Описание процесса',
  Executable: 'Исполняемый', 'Version tag': 'Метка версии', Timer: 'Таймер (BPMN)', Type: 'Тип', Value: 'Значение',
  Date: 'Дата', Duration: 'Длительность', Cycle: 'Цикл', Message: 'Сообщение', Signal: 'Сигнал', Error: 'Ошибка',
  Escalation: 'Эскалация', Link: 'Ссылка', Condition: 'Условие', 'Condition expression': 'Выражение условия',
  'Multi-instance': 'Множественный экземпляр', 'Loop cardinality': 'Число повторений',
  'Completion condition': 'Условие завершения', Compensation: 'Компенсация', '<none>': '<нет>', '<empty>': '<пусто>',
  'Global message reference': 'Сообщение', 'Global error reference': 'Ошибка', 'Global signal reference': 'Сигнал',
  'Global escalation reference': 'Эскалация', Code: 'Код', 'Create new ...': 'Создать…',
  'ID must be unique.': 'Идентификатор должен быть уникальным.', 'ID must not be empty.': 'Укажите идентификатор.',
  'ID must not contain spaces.': 'В идентификаторе не должно быть пробелов.',
  'ID must be a valid QName.': 'Идентификатор должен быть допустимым QName.',
  'ID must not contain prefix.': 'Идентификатор не должен содержать префикс.',
  'Process ID': 'Идентификатор процесса', 'Process name': 'Название процесса', Participant: 'Участник',
  'Select an element to edit its properties.': 'Выберите элемент, чтобы изменить его свойства.',
  'Multiple elements are selected. Select a single one to edit its properties.':
    'Выбрано несколько элементов. Выберите один, чтобы изменить его свойства.',
  'Open minimap': 'Открыть мини-карту', 'Close minimap': 'Закрыть мини-карту',
  // palette
  'Activate hand tool': 'Рука (перемещение)', 'Activate the hand tool': 'Рука (перемещение)',
  'Activate lasso tool': 'Лассо (выделение)', 'Activate the lasso tool': 'Лассо (выделение)',
  'Activate create/remove space tool': 'Добавить или убрать место',
  'Activate the create/remove space tool': 'Добавить или убрать место',
  'Activate global connect tool': 'Соединить', 'Activate the global connect tool': 'Соединить',
  'Create start event': 'Начальное событие', 'Create intermediate/boundary event': 'Промежуточное событие',
  'Create end event': 'Конечное событие', 'Create gateway': 'Шлюз', 'Create exclusive gateway': 'Шлюз',
  'Create task': 'Задача', 'Create data object reference': 'Объект данных',
  'Create data store reference': 'Хранилище данных', 'Create expanded sub-process': 'Подпроцесс',
  'Create pool/participant': 'Пул (участник)', 'Create group': 'Группа',
  // context pad
  'Append end event': 'Добавить конечное событие', 'Append gateway': 'Добавить шлюз', 'Append task': 'Добавить задачу',
  'Append intermediate/boundary event': 'Добавить промежуточное событие', 'Append text annotation': 'Добавить примечание',
  'Add text annotation': 'Добавить примечание', 'Change type': 'Изменить тип', 'Change element': 'Изменить тип',
  Delete: 'Удалить', Remove: 'Удалить',
  'Connect using sequence/message flow or association': 'Соединить потоком',
  'Connect to other element': 'Соединить с другим элементом', 'Connect using association': 'Соединить ассоциацией',
  'Connect using data input association': 'Соединить входом данных', 'Add lane above': 'Добавить дорожку выше',
  'Add lane below': 'Добавить дорожку ниже', 'Divide into two lanes': 'Разделить на две дорожки',
  'Divide into three lanes': 'Разделить на три дорожки', 'Append compensation activity': 'Добавить компенсацию',
  'Search in diagram': 'Поиск по схеме',
  // element types (the panel's header, the "change type" menu)
  Process: 'Процесс', Lane: 'Дорожка', Task: 'Задача', 'Sub Process': 'Подпроцесс',
  'Service Task': 'Сервисная задача', 'User Task': 'Задача исполнителя', 'Script Task': 'Задача-скрипт',
  'Business Rule Task': 'Задача решения', 'Manual Task': 'Ручная задача', 'Send Task': 'Задача отправки',
  'Receive Task': 'Задача получения', 'Call Activity': 'Вызов процесса', 'Sequence Flow': 'Поток управления',
  'Conditional Flow': 'Условный поток', 'Default Flow': 'Поток по умолчанию', 'Message Flow': 'Поток сообщений',
  'Start Event': 'Начальное событие', 'End Event': 'Конечное событие',
  'Intermediate Throw Event': 'Промежуточное событие', 'Boundary Event': 'Граничное событие',
  'Timer Start Event': 'Начальное событие-таймер', 'Message Start Event': 'Начальное событие-сообщение',
  'Timer Boundary Event': 'Граничный таймер', '(Non Interrupting) Timer Boundary Event': 'Граничный таймер (не прерывающий)',
  'Message Boundary Event': 'Граничное событие-сообщение', 'Error Boundary Event': 'Граничное событие-ошибка',
  'Timer Intermediate Catch Event': 'Промежуточный таймер',
  'Message Intermediate Catch Event': 'Промежуточное событие-сообщение',
  'Error End Event': 'Конечное событие-ошибка', 'Terminate End Event': 'Завершающее событие',
  'Exclusive Gateway': 'Исключающий шлюз', 'Parallel Gateway': 'Параллельный шлюз',
  'Inclusive Gateway': 'Включающий шлюз', 'Event Based Gateway': 'Шлюз по событию',
  'Text Annotation': 'Примечание', Group: 'Группа',
  'User task': 'Задача исполнителя', 'Service task': 'Сервисная задача', 'Script task': 'Задача-скрипт',
  'Business rule task': 'Задача решения', 'Manual task': 'Ручная задача', 'Send task': 'Задача отправки',
  'Receive task': 'Задача получения', 'Call activity': 'Вызов процесса', 'Start event': 'Начальное событие',
  'End event': 'Конечное событие', 'Exclusive gateway': 'Исключающий шлюз', 'Parallel gateway': 'Параллельный шлюз',
};

export default function translate(template, replacements) {
  const text = RU[template] || template;
  return text.replace(/{([^}]+)}/g, (match, key) => (replacements && key in replacements ? replacements[key] : match));
}
