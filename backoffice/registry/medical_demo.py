"""Demo medical organisations for the registry dataset, generated reproducibly.

The bundled dataset (demo_data.json) carries a few hand-written organisations and the rest from here
(`python -m backoffice.registry.medical_demo` rewrites its `medical_organizations`); the directory benchmark
asks for thousands more the same way. Every ОГРН and ИНН has a valid check digit and carries its
region's code, as real ones do; about one organisation in twelve has a licence that has expired.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from stdnum.ru import inn as ru_inn
from stdnum.ru import ogrn as ru_ogrn

DEMO_DATA = Path(__file__).resolve().parent / "demo_data.json"
# The organisations written by hand (the registry's own tests name them); generated ones follow them.
HAND_WRITTEN = 4

PRIMARY = "первичная медико-санитарная помощь"
SPECIALIZED = "специализированная медицинская помощь"
HIGH_TECH = "высокотехнологичная медицинская помощь"
EMERGENCY = "скорая медицинская помощь"

GENERAL = ("терапия", "хирургия", "неврология", "офтальмология", "оториноларингология", "кардиология",
           "эндокринология", "урология", "травматология и ортопедия", "дерматовенерология")
CHILDREN = ("педиатрия", "детская хирургия", "неврология", "офтальмология", "оториноларингология")
DENTAL = ("стоматология терапевтическая", "стоматология хирургическая", "ортодонтия")
HOSPITAL = ("терапия", "хирургия", "кардиология", "неврология", "онкология", "травматология и ортопедия",
            "акушерство и гинекология", "урология")


@dataclass(frozen=True)
class Region:
    name: str
    code: str  # the two digits of ИНН and ОГРН
    city: str  # how an address starts
    phone_code: str
    genitive: str  # in the full name of a state organisation: «… здравоохранения города Москвы «…»»
    short: str  # the short name's pattern, {} the institution's abbreviation
    domain: str
    streets: tuple[str, ...]


REGIONS = (
    Region("г. Москва", "77", "г. Москва", "495", "города Москвы", "ГБУЗ «{} ДЗМ»", "zdrav.mos.example",
           ("ул. Профсоюзная", "Ленинский проспект", "ул. Новослободская", "Каширское шоссе", "ул. Вавилова",
            "Щёлковское шоссе", "ул. Ярцевская", "ул. Бутлерова")),
    Region("г. Санкт-Петербург", "78", "г. Санкт-Петербург", "812", "города Санкт-Петербурга", "СПб ГБУЗ «{}»",
           "zdrav.spb.example", ("Невский проспект", "ул. Савушкина", "пр. Просвещения", "ул. Ленская",
                                 "Московский проспект", "ул. Фёдора Абрамова", "Гражданский проспект")),
    Region("Московская область", "50", "Московская обл., г. Химки", "498", "Московской области", "ГБУЗ МО «{}»",
           "mz.mosreg.example", ("ул. Маяковского", "Юбилейный проспект", "ул. Кирова", "Ленинградское шоссе",
                                 "ул. Калинина")),
    Region("Республика Татарстан", "16", "г. Казань", "843", "Республики Татарстан", "ГАУЗ «{}» МЗ РТ",
           "tatar.example", ("ул. Чуйкова", "проспект Победы", "ул. Фатыха Амирхана", "ул. Декабристов",
                             "ул. Гвардейская", "ул. Айдарова")),
    Region("Новосибирская область", "54", "г. Новосибирск", "383", "Новосибирской области", "ГБУЗ НСО «{}»",
           "zdrav.nso.example", ("Красный проспект", "ул. Залесского", "ул. Фрунзе", "ул. Учительская",
                                 "ул. Ползунова", "ул. Киевская")),
    Region("Свердловская область", "66", "г. Екатеринбург", "343", "Свердловской области", "ГАУЗ СО «{}»",
           "midural.example", ("ул. Волгоградская", "ул. Шейнкмана", "ул. Репина", "проспект Космонавтов",
                               "ул. Серафимы Дерябиной", "ул. Заводская")),
    Region("Краснодарский край", "23", "г. Краснодар", "861", "Краснодарского края", "ГБУЗ «{}» МЗ КК",
           "kuban.example", ("ул. Красная", "ул. Северная", "ул. Кирова", "ул. Ставропольская", "ул. Тургенева",
                             "ул. Зиповская")),
    Region("Нижегородская область", "52", "г. Нижний Новгород", "831", "Нижегородской области", "ГБУЗ НО «{}»",
           "zdrav-nnov.example", ("ул. Родионова", "проспект Гагарина", "ул. Ванеева", "ул. Белинского",
                                  "ул. Львовская")),
)
# Private clinics' names (the commercial part of «ООО «Медицинский центр «…»»).
BRANDS = ("Семейный доктор", "Медлайн", "Клиника Ёлочка", "Добромед", "Авиценна", "Мать и дитя",
          "Надежда", "Евромед", "Поколение", "Гиппократ", "Альфа-Здоровье", "Медэксперт", "Парацельс", "Сфера")


def _spread(serial: int) -> int:
    """Serial numbers 0..99,999 mapped one-to-one onto scattered five-digit ones (7919 is prime to 100,000),
    so numbers look issued over the years rather than counted from 00000."""
    return (serial * 7919 + 31_337) % 100_000


def _ogrn(rng: random.Random, region: Region, serial: int) -> str:
    """A 13-digit ОГРН: state registration sign 1, year, region, tax office, serial, then its check digit."""
    year = rng.choice(("02", "03", "05", "07", "09", "11", "12", "15", "17", "19"))
    body = f"1{year}{region.code}{rng.randint(10, 99)}{_spread(serial):05d}"
    return body + ru_ogrn.calc_check_digit(body + "0")


def _inn(rng: random.Random, region: Region, serial: int) -> str:
    """A 10-digit ИНН of an organisation: region, tax office, serial, then its check digit."""
    body = f"{region.code}{rng.randint(10, 99)}{_spread(serial + 50_000):05d}"
    return body + ru_inn.calc_company_check_digit(body)


def _address(rng: random.Random, region: Region) -> str:
    return f"{region.city}, {rng.choice(region.streets)}, д. {rng.randint(1, 180)}"


def _kind(rng: random.Random, region: Region, number: int, clinics: int) -> dict[str, Any]:
    """Names, programmes and specialties of one organisation of a kind drawn at random; `clinics` counts the
    private clinics so far (their brands go round in order, so the first one is «Клиника Ёлочка»)."""
    roll = rng.random()
    if roll < 0.34:
        name, short = f"Городская поликлиника № {number}", f"ГП № {number}"
        programs, specialties = [PRIMARY], rng.sample(GENERAL, 6)
    elif roll < 0.50:
        name, short = f"Детская городская поликлиника № {number}", f"ДГП № {number}"
        programs, specialties = [PRIMARY], list(CHILDREN)
    elif roll < 0.66:
        name, short = f"Городская клиническая больница № {number}", f"ГКБ № {number}"
        programs = [PRIMARY, SPECIALIZED] + ([HIGH_TECH] if rng.random() < 0.5 else []) + (
            [EMERGENCY] if rng.random() < 0.4 else [])
        specialties = rng.sample(HOSPITAL, 6)
    elif roll < 0.76:
        name, short = f"Стоматологическая поликлиника № {number}", f"СП № {number}"
        programs, specialties = [PRIMARY], list(DENTAL)
    elif roll < 0.82:
        name, short = f"Родильный дом № {number}", f"РД № {number}"
        programs, specialties = [PRIMARY, SPECIALIZED], ["акушерство и гинекология", "неонатология"]
    else:
        brand = BRANDS[clinics % len(BRANDS)]
        full = f"Общество с ограниченной ответственностью «Медицинский центр «{brand}»»"
        return {"name": full, "short_name": f"ООО «МЦ «{brand}»»", "programs": [PRIMARY],
                "specialties": rng.sample(GENERAL, 4), "state": False}
    form = "автономное" if region.short.startswith("ГАУЗ") else "бюджетное"
    full = f"Государственное {form} учреждение здравоохранения {region.genitive} «{name}»"
    return {"name": full, "short_name": region.short.format(short), "programs": programs,
            "specialties": specialties, "state": True}


def generate(count: int, *, seed: int = 18, start: int = 0) -> list[dict[str, Any]]:
    """`count` organisations in the registry's shape, the same ones for the same seed; serial numbers
    (and so ОГРН and ИНН) are unique from `start` on."""
    rng = random.Random(seed)
    orgs: list[dict[str, Any]] = []
    clinics = 0
    for i in range(start, start + count):
        region = REGIONS[i % len(REGIONS)]
        number = 1 + i // len(REGIONS)
        kind = _kind(rng, region, number, clinics)
        clinics += not kind["state"]
        address = _address(rng, region)
        expired = rng.random() < 1 / 12
        licence = (date(rng.randint(2019, 2025), rng.randint(1, 12), 28).isoformat() if expired
                   else None if kind["state"] else date(rng.randint(2027, 2031), rng.randint(1, 12), 28).isoformat())
        slug = f"mo{i + 1}"
        orgs.append({
            "ogrn": _ogrn(rng, region, i), "inn": _inn(rng, region, i),
            "name": kind["name"], "short_name": kind["short_name"], "address": address,
            "phone": f"+7 {region.phone_code} {rng.randint(200, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
            "email": f"{slug}@{region.domain}", "programs": kind["programs"], "license_valid_to": licence,
            "accredited": not expired, "region": region.name,
            "legal_address": address if rng.random() < 0.7 else _address(rng, region),
            "specialties": kind["specialties"],
        })
    return orgs


def rewrite_demo_data(path: Path = DEMO_DATA, count: int = 60) -> None:
    """Keep the hand-written organisations and put `count` generated ones after them."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["medical_organizations"] = data["medical_organizations"][:HAND_WRITTEN] + generate(count)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    rewrite_demo_data(count=int(sys.argv[1]) if len(sys.argv) > 1 else 60)
