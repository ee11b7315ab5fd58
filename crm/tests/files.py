"""Files for import tests, built in memory: CSV in any encoding, XLSX, and zips of anything."""
import csv
import io
import random
import zipfile

from openpyxl import Workbook


def csv_bytes(rows, encoding="utf-8"):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx(rows):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def zip_of(members):
    """A zip archive holding ``members`` ({name: bytes}): a file named .xlsx that is no workbook."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def garbage_zip(member="junk.bin", seed=3, size=2048):
    return zip_of({member: random.Random(seed).randbytes(size)})
