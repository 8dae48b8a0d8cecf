"""Broken diagrams, one row per kind of problem the deploy validation finds: the one table that the deploy
tests (Python API, `backoffice workflows deploy`) and the studio tests (pages, JSON API) all go through.

Each row edits a small but complete process (a service task with an operator, a script, an SLA timer, a
user task with a form, lanes, a decision) as text, and names the problem's code, the element it is
reported at ("PID" stands for the process) and a fragment of its Russian message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.diagram_layout import layout_bpmn

BASE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="PID" name="Проверка" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_system" name="Система">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>lookup</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>prepare</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>decide</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_late</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_operator" name="Оператор">
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>review_sla</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="Начало" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="lookup" />
    <bpmn:serviceTask id="lookup" name="Найти">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="demo.lookup" resultVariable="found">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="key" type="str" value="&quot;x&quot;" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="lookup" targetRef="prepare" />
    <bpmn:scriptTask id="prepare" name="Подготовить">
      <bpmn:script>review_sla = "demo_review"</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="prepare" targetRef="review" />
    <bpmn:userTask id="review" name="Проверить">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="review.schema.json" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="review_sla" name="Срок истёк" attachedToRef="review">
      <bpmn:timerEventDefinition id="review_sla_def">
        <bpmn:timeDate>sla(review_sla)</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="decide" />
    <bpmn:exclusiveGateway id="decide" name="Одобрено?" default="f_no" />
    <bpmn:sequenceFlow id="f_yes" sourceRef="decide" targetRef="end">
      <bpmn:conditionExpression>decision == "approve"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="decide" targetRef="end_late" />
    <bpmn:sequenceFlow id="f5" sourceRef="review_sla" targetRef="end_late" />
    <bpmn:endEvent id="end" name="Готово" />
    <bpmn:endEvent id="end_late" name="Отказ" />
  </bpmn:process>
</bpmn:definitions>
"""

START = ('<bpmn:startEvent id="start" name="Начало" />\n    '
         '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="lookup" />')
ENDS = '<bpmn:endEvent id="end" name="Готово" />\n    <bpmn:endEvent id="end_late" name="Отказ" />'
GATEWAY = ('<bpmn:sequenceFlow id="f3" sourceRef="prepare" targetRef="gw" />'
           '<bpmn:exclusiveGateway id="gw" name="Дальше" />'
           '<bpmn:sequenceFlow id="f3b" sourceRef="gw" targetRef="review" />')



@dataclass(frozen=True)
class Row:
    case: str
    edits: list[tuple[str, str]]
    code: str
    element: str | None
    fragment: str
    drawing: Callable[[bytes], bytes] | None = field(default=lambda content: content)
    """What becomes of the laid-out file (None: it is not drawn at all)."""

    def text(self, pid: str) -> str:
        return diagram(pid, self.edits)

    def content(self, pid: str) -> bytes:
        """The file as an analyst would upload it: drawn by the layout tool, unless the row is about DI."""
        text = self.text(pid)
        return text.encode("utf-8") if self.drawing is None else self.drawing(drawn(text))

    def element_id(self, pid: str) -> str | None:
        return pid if self.element == "PID" else self.element


def diagram(pid: str, edits: list[tuple[str, str]] = ()) -> str:
    text = BASE.replace("PID", pid)
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    return text


def drawn(text: str) -> bytes:
    """The diagram with its DI, as a modeler saves it. A file too broken to lay out goes as it is (its
    own problem is what the test expects)."""
    try:
        return layout_bpmn(text.encode("utf-8"))
    except Exception:
        return text.encode("utf-8")


def _bounds(content: bytes, element_id: str) -> bytes:
    return re.search(rb'bpmnElement="' + element_id.encode() + rb'"[^>]*>\s*(<dc:Bounds [^>]*>)', content).group(1)


def _stacked(content: bytes) -> bytes:
    """One end event drawn exactly on top of the other."""
    return content.replace(_bounds(content, "end_late"), _bounds(content, "end"))


SCRIPT = '<bpmn:script>x = 1</bpmn:script>'
FLOW3 = '<bpmn:sequenceFlow id="f3" sourceRef="prepare" targetRef="review" />'
DECIDE = '<bpmn:exclusiveGateway id="decide" name="Одобрено?" default="f_no" />'
MESSAGE = '<bpmn:process id='


def _sub(kind: str, body: str, extra: str = "") -> list[tuple[str, str]]:
    """A sub-process between ``prepare`` and ``review`` with the given content."""
    return [(FLOW3, f'<bpmn:sequenceFlow id="f3" sourceRef="prepare" targetRef="sub" />'
                    f'<bpmn:{kind} id="sub" name="Подпроцесс"{extra}>{body}</bpmn:{kind}>'
                    '<bpmn:sequenceFlow id="f3s" sourceRef="sub" targetRef="review" />')]


SUB_BODY = ('<bpmn:startEvent id="sub_start" name="Начало подпроцесса">{definition}</bpmn:startEvent>'
            '<bpmn:sequenceFlow id="sf1" sourceRef="sub_start" targetRef="sub_end" />'
            '<bpmn:endEvent id="sub_end" name="Конец подпроцесса" />')
EVENT_SUB = ('<bpmn:subProcess id="esp" name="По событию" triggeredByEvent="true">'
             '<bpmn:startEvent id="esp_start" name="Начало по событию" />'
             '<bpmn:sequenceFlow id="ef1" sourceRef="esp_start" targetRef="esp_end" />'
             '<bpmn:endEvent id="esp_end" name="Конец по событию" /></bpmn:subProcess>')

# (case, [(old, new)], code, element id ("PID" = the process), fragment of the Russian message)
BROKEN = [Row(*row) for row in [
    ("xml_unsafe", [('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="UTF-8"?>\n'
                     '<!DOCTYPE d [<!ENTITY x "y">]>')], "xml_unsafe", None, "DOCTYPE и ENTITY запрещены"),
    ("xml_malformed", [("</bpmn:definitions>", "")], "xml_malformed", None, "не является корректным XML"),
    ("schema", [(ENDS, ENDS + '\n    <bpmn:bogus id="bogus" />')], "schema_invalid", None, "нарушена схема"),
    ("script", [('review_sla = "demo_review"', 'review_sla = "demo_review"\nimport os')], "unsafe_script",
     "prepare", "недопустимый код (строка 2: инструкция import запрещена)"),
    ("operator", [('id="demo.lookup"', 'id="demo.nope"')], "unknown_operator", "lookup",
     "неизвестный оператор сервисной задачи «demo.nope»"),
    ("parameter", [('parameter id="key"', 'parameter id="kee"')], "unknown_operator_parameter", "lookup",
     "оператор «demo.lookup» не принимает параметр «kee»"),
    ("missing_parameter", [('parameter id="key"', 'parameter id="kee"')], "missing_operator_parameter",
     "lookup", "оператору «demo.lookup» не передан обязательный параметр «key»"),
    ("sla_literal", [("sla(review_sla)", 'sla("demo_reviw")')], "unknown_sla", "review_sla",
     "неизвестный срок (SLA) «demo_reviw»; известные: demo_review, demo_review_short"),
    ("sla_variable", [('review_sla = "demo_review"', 'review_sla = "demo_reviw"')], "unknown_sla", "prepare",
     "неизвестный срок (SLA) «demo_reviw» в переменной review_sla"),
    ("form", [("review.schema.json", "nope.schema.json")], "unknown_form", "review",
     "схема формы «nope.schema.json» не найдена"),
    ("lane", [('name="Оператор"', 'name="Операторы"')], "lane_without_role", "lane_operator",
     "дорожке «Операторы» не сопоставлена роль"),
    ("outside_lane", [("<bpmn:flowNodeRef>review</bpmn:flowNodeRef>", "")], "user_task_outside_lane", "review",
     "задача исполнителя не лежит ни в одной дорожке"),
    ("unreachable", [(ENDS, ENDS + '\n    <bpmn:scriptTask id="orphan" name="Сирота"><bpmn:script>x = 1'
                      '</bpmn:script></bpmn:scriptTask><bpmn:sequenceFlow id="f_o" sourceRef="orphan" '
                      'targetRef="end" />')], "unreachable_element", "orphan", "элемент недостижим"),
    ("start_event", [(START, "")], "start_event_required", "PID", "в процессе нет стартового события"),
    ("end_event", [(ENDS, '<bpmn:intermediateThrowEvent id="end" name="Готово" />\n    '
                    '<bpmn:intermediateThrowEvent id="end_late" name="Отказ" />')],
     "end_event_required", "PID", "в процессе нет завершающего события"),
    ("disconnected", [(ENDS, ENDS + '\n    <bpmn:task id="lonely" name="Одинокая" />')], "no_disconnected",
     "lonely", "элемент не соединён ни одним потоком"),
    ("implicit_split", [(ENDS, ENDS + '\n    <bpmn:sequenceFlow id="f2b" sourceRef="lookup" targetRef="review" />')],
     "no_implicit_split", "lookup", "неявное ветвление"),
    ("blank_starts", [(START, START + '\n    <bpmn:startEvent id="start2" name="Ещё начало" />'
                       '<bpmn:sequenceFlow id="f1b" sourceRef="start2" targetRef="lookup" />')],
     "single_blank_start_event", "PID", "больше одного стартового события без типа"),
    ("superfluous_gateway", [('<bpmn:sequenceFlow id="f3" sourceRef="prepare" targetRef="review" />', GATEWAY)],
     "superfluous_gateway", "gw", "лишний шлюз"),
    ("conditional_flows", [(' default="f_no"', "")], "conditional_flows", "f_no", "у потока нет условия"),
    ("duplicate_flow", [(ENDS, ENDS + '\n    <bpmn:sequenceFlow id="f_yes2" sourceRef="decide" targetRef="end">'
                         '<bpmn:conditionExpression>decision == "approve"</bpmn:conditionExpression>'
                         '</bpmn:sequenceFlow>')],
     "no_duplicate_sequence_flows", "f_yes2", "поток дублирует другой поток"),
    ("label", [('name="Найти"', "")], "label_required", "lookup", "у элемента нет названия"),
    ("no_executable", [('isExecutable="true"', 'isExecutable="false"')], "no_executable_process", None,
     "нет исполняемого процесса"),
]] + [
    Row("implicit_start", [(ENDS, ENDS + f'<bpmn:scriptTask id="spawn" name="Сам по себе">{SCRIPT}</bpmn:scriptTask>'
                            '<bpmn:sequenceFlow id="f_s" sourceRef="spawn" targetRef="end" />')],
        "no_implicit_start", "spawn", "неявное начало"),
    Row("implicit_end", [(ENDS, ENDS + f'<bpmn:scriptTask id="dead" name="Тупик">{SCRIPT}</bpmn:scriptTask>'
                          '<bpmn:sequenceFlow id="f_d" sourceRef="decide" targetRef="dead">'
                          '<bpmn:conditionExpression>decision == "wait"</bpmn:conditionExpression>'
                          '</bpmn:sequenceFlow>')], "no_implicit_end", "dead", "неявный конец"),
    Row("complex_gateway", [(DECIDE, DECIDE.replace("exclusiveGateway", "complexGateway"))],
        "no_complex_gateway", "decide", "сложный шлюз"),
    Row("inclusive_gateway", [(DECIDE, DECIDE.replace("exclusiveGateway", "inclusiveGateway"))],
        "no_inclusive_gateway", "decide", "включающий шлюз"),
    Row("event_based_gateway", [(FLOW3, '<bpmn:sequenceFlow id="f3" sourceRef="prepare" targetRef="evgw" />'
                                 '<bpmn:eventBasedGateway id="evgw" name="Что раньше?" />'
                                 '<bpmn:sequenceFlow id="f3e" sourceRef="evgw" targetRef="review" />')],
        "event_based_gateway", "evgw", "не меньше двух исходящих потоков"),
    Row("single_event_definition", [('<bpmn:timerEventDefinition id="review_sla_def">',
                                     '<bpmn:signalEventDefinition id="review_sla_signal" />'
                                     '<bpmn:timerEventDefinition id="review_sla_def">')],
        "single_event_definition", "review_sla", "несколько определений"),
    Row("event_sub_process", [(ENDS, ENDS + EVENT_SUB)], "event_sub_process_typed_start_event", "esp_start",
        "у стартового события событийного подпроцесса нет типа"),
    Row("sub_process_start", _sub("subProcess", SUB_BODY.format(
        definition='<bpmn:timerEventDefinition id="sub_timer"><bpmn:timeDuration>"PT1H"</bpmn:timeDuration>'
                   '</bpmn:timerEventDefinition>')),
        "sub_process_blank_start_event", "sub_start", "должно быть без типа"),
    Row("ad_hoc", _sub("adHocSubProcess", SUB_BODY.format(definition="")), "ad_hoc_sub_process", "sub_start",
        "не может быть стартового события"),
    Row("superfluous_termination",
        [(ENDS, '<bpmn:endEvent id="end" name="Готово"><bpmn:terminateEventDefinition id="end_term" />'
                '</bpmn:endEvent>'),
         ('<bpmn:flowNodeRef>end_late</bpmn:flowNodeRef>', ""),
         ('sourceRef="decide" targetRef="end_late"', 'sourceRef="decide" targetRef="end"'),
         ('sourceRef="review_sla" targetRef="end_late"', 'sourceRef="review_sla" targetRef="end"')],
        "superfluous_termination", "end", "лишнее"),
    Row("link_event", [(FLOW3, '<bpmn:sequenceFlow id="f3" sourceRef="prepare" targetRef="jump" />'
                        '<bpmn:intermediateThrowEvent id="jump" name="Перейти">'
                        '<bpmn:linkEventDefinition id="jump_def" name="к проверке" />'
                        '</bpmn:intermediateThrowEvent>')],
        "link_event", "jump", "для ссылки «к проверке» в этой области нет ловящего события-ссылки"),
    Row("global", [(MESSAGE, '<bpmn:message id="msg_unused" name="ненужное" />\n  ' + MESSAGE)], "global",
        "msg_unused", "сообщение «ненужное» нигде не используется"),
    Row("no_bpmndi", [], "no_bpmndi", "lookup", "Элемент не нарисован на схеме (нет BPMNShape)", drawing=None),
    Row("overlapping", [], "no_overlapping_elements", "end", "Элемент на схеме перекрывает «end_late»",
        drawing=_stacked),
]
