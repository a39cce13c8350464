// What `azd up` provisions: one resource group holding the Function app and everything it
// runs on (resources.bicep). Subscription scope, so `azd down` removes it all with the group.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment: names the resource group and seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region of every resource; Flex Consumption must be offered there (az functionapp list-flexconsumption-locations).')
param location string

@allowed([
  'FC1'
  'EP1'
])
@description('FC1: Flex Consumption (default). EP1: Elastic Premium, one instance always billed.')
param planSku string = 'FC1'

@description('Object id of the signed-in user (azd fills it in): on EP1, may upload the package the app runs from.')
param principalId string = ''

@description('Durable task hub: the host.json hubName, overridden here so two apps on one account can keep apart.')
param taskHubName string = 'DurablePatterns'

@description('NCRONTAB schedule of nightly_summary (starters.py), in UTC.')
param nightlySummarySchedule string = '0 0 2 * * *'

@description('Container nightly_summary summarizes (starters.py); created empty.')
param nightlySummaryContainer string = 'docs'

@description('Blob name prefix within that container; empty for every blob.')
param nightlySummaryPrefix string = ''

var tags = {
  'azd-env-name': environmentName
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module app 'resources.bicep' = {
  name: 'app'
  scope: rg
  params: {
    environmentName: environmentName
    location: location
    tags: tags
    planSku: planSku
    principalId: principalId
    taskHubName: taskHubName
    nightlySummarySchedule: nightlySummarySchedule
    nightlySummaryContainer: nightlySummaryContainer
    nightlySummaryPrefix: nightlySummaryPrefix
  }
}

// azd keeps these in .azure/<environment>/.env; the README's commands read them with
// `azd env get-value NAME`.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_PLAN_SKU string = planSku
output AZURE_FUNCTION_NAME string = app.outputs.functionAppName
output AZURE_FUNCTION_URL string = app.outputs.functionAppUrl
output AZURE_STORAGE_ACCOUNT_NAME string = app.outputs.storageAccountName
output AZURE_DEPLOYMENT_CONTAINER string = app.outputs.deploymentContainerName
output AZURE_PACKAGE_BLOB_NAME string = app.outputs.packageBlobName
output AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID string = app.outputs.identityClientId
output APPLICATIONINSIGHTS_NAME string = app.outputs.applicationInsightsName
