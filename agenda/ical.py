"""iCalendar (RFC 5545) text of calendar items."""

import datetime

from django.utils import timezone


def _escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    raw = line.encode()
    if len(raw) <= 75:
        return line
    parts, current = [], ""
    for char in line:
        if len((current + char).encode()) > 74:
            parts.append(current)
            current = char
        else:
            current += char
    parts.append(current)
    return "\r\n ".join(parts)


def _utc(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def render(items, *, host: str) -> str:
    now = _utc(timezone.now())
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//CRM//Calendar//ZH", "CALSCALE:GREGORIAN"]
    for item in items:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{item.key.replace(':', '-')}@{host}",
            f"DTSTAMP:{now}",
            f"DTSTART:{_utc(item.start)}",
            f"DTEND:{_utc(item.end or item.start + datetime.timedelta(minutes=30))}",
            f"SUMMARY:{_escape(item.title)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
