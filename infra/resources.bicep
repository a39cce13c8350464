// The Function app and what it runs on, in the resource group main.bicep creates: a
// user-assigned identity, the storage account it reaches with that identity only (shared
// keys are off), Application Insights without local auth, and a Flex Consumption plan
// (or Elastic Premium EP1 with planSku = 'EP1').

@description('Name of the azd environment: seeds every resource name.')
param environmentName string

@description('Region of every resource.')
param location string

@description('Tags for every resource.')
param tags object

@allowed([
  'FC1'
  'EP1'
])
@description('FC1: Flex Consumption. EP1: Elastic Premium.')
param planSku string

@description('Object id of the deploying user; on EP1 it may write the package blob.')
param principalId string

@description('Durable task hub name.')
param taskHubName string

@description('NCRONTAB schedule of nightly_summary.')
param nightlySummarySchedule string

@description('Container nightly_summary reads.')
param nightlySummaryContainer string

@description('Blob name prefix within that container.')
param nightlySummaryPrefix string

// The version the project runs and declares (pyproject.toml requires-python, README);
// tests/infra holds them together.
var pythonVersion = '3.11'
var isFlex = planSku == 'FC1'
var isPremium = planSku == 'EP1'
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var functionAppName = 'func-${resourceToken}'
// Flex Consumption keeps the deployed zip in this container; on EP1 the app runs from
// the blob packageBlobName in it (WEBSITE_RUN_FROM_PACKAGE below).
var deploymentContainerName = 'app-package-${resourceToken}'
var packageBlobName = 'app.zip'
// The queue intake_order takes orders from (starters.py ORDERS_QUEUE): the host's queue
// listener waits for a missing queue instead of creating it.
var ordersQueueName = 'orders-incoming'

// Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
// The three the Durable Functions Azure Storage provider needs for task hubs, leases and
// the app's own blobs, queue and timer status
// (https://learn.microsoft.com/azure/azure-functions/durable/durable-functions-configure-managed-identity):
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
// Application Insights with local auth disabled accepts telemetry only from an Entra
// identity holding this role on the component: without it the host's and the worker's
// telemetry is refused (https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication).
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'
// EP1 only, for the deploying user on the deployment container alone: uploading the
// package blob the app runs from (README, "Deploying").
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

module identity 'br/public:avm/res/managed-identity/user-assigned-identity:0.6.0' = {
  name: 'identity'
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

var uploaderRoleAssignment = {
  roleDefinitionIdOrName: storageBlobDataContributor
  principalId: principalId
}
var uploadsPackage = isPremium && !empty(principalId)
var uploaderRoleAssignments = uploadsPackage ? [uploaderRoleAssignment] : []

// The module's key and connection-string outputs are secure (kept out of deployment
// history) and never read here: every client reaches the account through Entra ID.
module storage 'br/public:avm/res/storage/storage-account:0.33.0' = {
  name: 'storage'
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    kind: 'StorageV2'
    skuName: 'Standard_LRS'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    blobServices: {
      containers: [
        {
          name: deploymentContainerName
          publicAccess: 'None'
          roleAssignments: uploaderRoleAssignments
        }
        {
          name: nightlySummaryContainer
          publicAccess: 'None'
        }
      ]
    }
    queueServices: {
      queues: [
        {
          name: ordersQueueName
        }
      ]
    }
    roleAssignments: [
      {
        roleDefinitionIdOrName: storageBlobDataOwner
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
      }
      {
        roleDefinitionIdOrName: storageQueueDataContributor
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
      }
      {
        roleDefinitionIdOrName: storageTableDataContributor
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
      }
    ]
  }
}

module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.16.1' = {
  name: 'logAnalytics'
  params: {
    name: 'log-${resourceToken}'
    location: location
    tags: tags
    skuName: 'PerGB2018'
    dataRetention: 30
    features: {
      disableLocalAuth: true
    }
  }
}

module applicationInsights 'br/public:avm/res/insights/component:0.8.0' = {
  name: 'applicationInsights'
  params: {
    name: 'appi-${resourceToken}'
    location: location
    tags: tags
    workspaceResourceId: logAnalytics.outputs.resourceId
    disableLocalAuth: true
    retentionInDays: 30
    roleAssignments: [
      {
        roleDefinitionIdOrName: monitoringMetricsPublisher
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
      }
    ]
  }
}

module plan 'br/public:avm/res/web/serverfarm:0.7.0' = {
  name: 'plan'
  params: {
    name: 'plan-${resourceToken}'
    location: location
    tags: tags
    kind: isFlex ? 'functionapp' : 'elastic'
    reserved: true
    skuName: planSku
    // EP1: one instance always ready (and billed), bursting to 20; FC1 scales per app.
    skuCapacity: 1
    maximumElasticWorkerCount: isFlex ? 1 : 20
    zoneRedundant: false
  }
}

// Every plan: the host's storage and the app's own clients through the identity
// (https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity),
// telemetry through it too, the task hub, and the app's settings (starters.py).
var commonAppSettings = {
  AzureWebJobsStorage__accountName: storage.outputs.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  // azure-identity's DefaultAzureCredential picks the user-assigned identity by this.
  AZURE_CLIENT_ID: identity.outputs.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  AzureFunctionsJobHost__extensions__durableTask__hubName: taskHubName
  NIGHTLY_SUMMARY_SCHEDULE: nightlySummarySchedule
  NIGHTLY_SUMMARY_CONTAINER: nightlySummaryContainer
  NIGHTLY_SUMMARY_PREFIX: nightlySummaryPrefix
}

// EP1 names its runtime in settings (Flex refuses them: functionAppConfig.runtime says it)
// and runs from the package blob, read with the identity: without Azure Files, which
// takes only a connection string with a key
// (https://learn.microsoft.com/azure/azure-functions/storage-considerations#create-an-app-without-azure-files).
var premiumAppSettings = {
  FUNCTIONS_EXTENSION_VERSION: '~4'
  FUNCTIONS_WORKER_RUNTIME: 'python'
  WEBSITE_RUN_FROM_PACKAGE: '${storage.outputs.serviceEndpoints.blob}${deploymentContainerName}/${packageBlobName}'
  WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID: identity.outputs.resourceId
}

var flexAppConfig = {
  deployment: {
    storage: {
      type: 'blobContainer'
      value: '${storage.outputs.serviceEndpoints.blob}${deploymentContainerName}'
      authentication: {
        type: 'UserAssignedIdentity'
        userAssignedIdentityResourceId: identity.outputs.resourceId
      }
    }
  }
  scaleAndConcurrency: {
    instanceMemoryMB: 2048
    maximumInstanceCount: 100
  }
  runtime: {
    name: 'python'
    version: pythonVersion
  }
}

var flexSiteConfig = {
  alwaysOn: false
  minTlsVersion: '1.2'
  ftpsState: 'Disabled'
}

var premiumSiteConfig = {
  alwaysOn: false
  minTlsVersion: '1.2'
  ftpsState: 'Disabled'
  linuxFxVersion: 'Python|${pythonVersion}'
}

module functionApp 'br/public:avm/res/web/site:0.24.0' = {
  name: 'functionApp'
  params: {
    name: functionAppName
    location: location
    // azd deploys the service `api` of azure.yaml to the site carrying this tag.
    tags: union(tags, {
      'azd-service-name': 'api'
    })
    kind: 'functionapp,linux'
    serverFarmResourceId: plan.outputs.resourceId
    httpsOnly: true
    clientAffinityEnabled: false
    managedIdentities: {
      userAssignedResourceIds: [
        identity.outputs.resourceId
      ]
    }
    functionAppConfig: isFlex ? flexAppConfig : null
    siteConfig: isFlex ? flexSiteConfig : premiumSiteConfig
    configs: [
      {
        name: 'appsettings'
        properties: isFlex ? commonAppSettings : union(commonAppSettings, premiumAppSettings)
      }
    ]
  }
}

output functionAppName string = functionApp.outputs.name
output functionAppUrl string = 'https://${functionApp.outputs.defaultHostname}'
output storageAccountName string = storage.outputs.name
output deploymentContainerName string = deploymentContainerName
output packageBlobName string = packageBlobName
output identityClientId string = identity.outputs.clientId
output applicationInsightsName string = applicationInsights.outputs.name
