{{/*
Name of the chart, or nameOverride.
*/}}
{{- define "connector-fs.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: <release>-<chart>, truncated to 63 characters (the
DNS label limit), or fullnameOverride. A release name that already contains
the chart name is used as is.
*/}}
{{- define "connector-fs.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version for the helm.sh/chart label.
*/}}
{{- define "connector-fs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "connector-fs.labels" -}}
helm.sh/chart: {{ include "connector-fs.chart" . }}
{{ include "connector-fs.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: shiplane
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "connector-fs.selectorLabels" -}}
app.kubernetes.io/name: {{ include "connector-fs.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Image reference: repository@digest when image.digest is set (a published chart pins
the image published with it), else repository:tag, the tag defaulting to the chart's
appVersion.
*/}}
{{- define "connector-fs.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
CORE_URL: .Values.core.url (rendered with tpl), else the Service of the core
chart installed in the same release (as the platform chart does), named the
way core's fullname names it: <release>-core, or <release> when the release
name already contains "core".
*/}}
{{- define "connector-fs.coreURL" -}}
{{- if .Values.core.url }}
{{- tpl .Values.core.url . }}
{{- else }}
{{- $core := printf "%s-core" .Release.Name }}
{{- if contains "core" .Release.Name }}
{{- $core = .Release.Name }}
{{- end }}
{{- printf "http://%s:8080" ($core | trunc 63 | trimSuffix "-") }}
{{- end }}
{{- end }}
