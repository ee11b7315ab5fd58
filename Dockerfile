# One image for every role (docs/deployment.md): the command picks web, worker, beat or migrate.
#   docker build -t crm .
#   docker run --env-file crm.env -p 8001:8000 crm                       # web: gunicorn, config/gunicorn.py
#   docker run --env-file crm.env crm celery -A config worker -l INFO    # a worker
#   docker run --env-file crm.env crm celery -A config beat -l INFO      # beat: one (a second exits, status 3)
#   docker run --env-file crm.env crm python manage.py migrate           # once per release
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_ENV=production \
    CRM_VAR_DIR=/var/lib/crm \
    WEB_BIND=0.0.0.0:8000 \
    LOG_FORMAT=json \
    PROMETHEUS_MULTIPROC_DIR=/tmp/crm-metrics

RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /srv/crm --shell /usr/sbin/nologin crm

WORKDIR /srv/crm
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# translations and static files are built into the image (a throwaway key: nothing is signed here)
RUN SECRET_KEY=build-only-$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=') \
        python manage.py compile_translations \
    && SECRET_KEY=build-only-$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=') \
        python manage.py collectstatic --noinput -v 0 \
    && mkdir -p /tmp/crm-metrics \
    && chown -R crm:crm /var/lib/crm /tmp/crm-metrics

USER crm
EXPOSE 8000
# the health check asks 127.0.0.1: keep it in ALLOWED_HOSTS (e.g. ALLOWED_HOSTS=crm.example.com,127.0.0.1)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["gunicorn", "-c", "config/gunicorn.py"]
