FROM python:3.11-slim-bookworm

# WeasyPrint's libraries (Pango, HarfBuzz with its subsetter: without libharfbuzz-subset0
# font subsetting is 4-5x slower) and the DejaVu fonts the certificate is set in.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DEBUG=true python manage.py collectstatic --no-input \
 && useradd --system --uid 10001 mca && mkdir -p /data && chown mca /data
USER mca
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
