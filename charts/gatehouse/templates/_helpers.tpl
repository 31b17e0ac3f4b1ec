{{/* Names: <fullname> is the release name (with "gatehouse" unless it already contains it). */}}
{{- define "gatehouse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gatehouse.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "gatehouse.controller.fullname" -}}{{ include "gatehouse.fullname" . }}-controller{{- end }}
{{- define "gatehouse.proxy.fullname" -}}{{ include "gatehouse.fullname" . }}-proxy{{- end }}

{{- define "gatehouse.controller.serviceAccountName" -}}
{{- if .Values.controller.serviceAccount.create }}
{{- default (include "gatehouse.controller.fullname" .) .Values.controller.serviceAccount.name }}
{{- else }}
{{- required "controller.serviceAccount.name is required when controller.serviceAccount.create is false" .Values.controller.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "gatehouse.proxy.serviceAccountName" -}}
{{- if .Values.proxy.serviceAccount.create }}
{{- default (include "gatehouse.proxy.fullname" .) .Values.proxy.serviceAccount.name }}
{{- else }}
{{- required "proxy.serviceAccount.name is required when proxy.serviceAccount.create is false" .Values.proxy.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "gatehouse.streamTokenSecret" -}}
{{- default (printf "%s-stream-token" (include "gatehouse.fullname" .)) .Values.streamToken.existingSecret }}
{{- end }}

{{- define "gatehouse.streamTokenKey" -}}
{{- if .Values.streamToken.existingSecret }}{{ .Values.streamToken.existingSecretKey }}{{ else }}token{{ end }}
{{- end }}

{{- define "gatehouse.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "gatehouse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: gatehouse
{{- end }}

{{- define "gatehouse.controller.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "gatehouse.proxy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: proxy
{{- end }}

{{/* The controller's rules on what it watches: granted cluster-wide (ClusterRole) or per watched namespace (Role).
     From the code: informers list+watch the three kinds, Services, EndpointSlices and the selected Secrets
     (controller/sources/kube-watched-kinds.ts); the status writer gets a kind and merge-patches its /status
     (controller/status/status-writer.ts); the event recorder creates and patches core Events in the
     resource's namespace (controller/status/event-recorder.ts). */}}
{{- define "gatehouse.controller.watchRules" -}}
- apiGroups: [gatehouse.dev]
  resources: [apiroutes, authorizers, ratepolicies]
  verbs: [get, list, watch]
- apiGroups: [gatehouse.dev]
  resources: [apiroutes/status, authorizers/status, ratepolicies/status]
  verbs: [patch]
- apiGroups: [""]
  resources: [services, secrets, configmaps]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
{{- end }}

{{/* Volumes and mounts shared by both pods. */}}
{{- define "gatehouse.streamTokenVolume" -}}
- name: stream-token
  secret:
    secretName: {{ include "gatehouse.streamTokenSecret" . }}
    defaultMode: 288 # 0440: owner and group (fsGroup) read
    items:
      - key: {{ include "gatehouse.streamTokenKey" . }}
        path: token
{{- end }}
