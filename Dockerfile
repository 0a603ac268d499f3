FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY . .
RUN pip install --no-cache-dir --no-deps -e . && python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["uvicorn", "architect_studio.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
