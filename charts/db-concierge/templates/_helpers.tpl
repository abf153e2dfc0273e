{{/* The platform namespace: platformNamespace, or the release namespace. */}}
{{- define "db-concierge.namespace" -}}
{{- default .Release.Namespace .Values.platformNamespace -}}
{{- end -}}

{{- define "db-concierge.adminSecretName" -}}
{{- default .Values.adminSecret.name .Values.adminSecret.existingSecret -}}
{{- end -}}

{{- define "db-concierge.labels" -}}
app.kubernetes.io/name: db-concierge-operator
app.kubernetes.io/part-of: db-concierge
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "db-concierge.selectorLabels" -}}
app.kubernetes.io/name: db-concierge-operator
{{- end -}}
