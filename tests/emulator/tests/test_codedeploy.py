"""CodeDeploy ECS blue/green deployments in modeled time (drover_emulator.codedeploy)."""

from __future__ import annotations

import json
import re

import botocore.exceptions
import pytest

REGION = "us-east-1"
APP, GROUP = "shop-web", "web"


def _setup(emu, config="CodeDeployDefault.ECSAllAtOnce", wait_minutes=0, alarms=None,
           rollback_events=("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"), controller="CODE_DEPLOY"):
    emu.control("POST", "durations", {"ecs_task_start": 10, "codedeploy_step": 2})
    ecs = emu.client("ecs", REGION)
    ecs.create_cluster(clusterName="shop")
    td = ecs.register_task_definition(
        family="shop-web", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu="256", memory="512",
        containerDefinitions=[{"name": "web", "image": "shop/web:1", "essential": True,
                               "portMappings": [{"containerPort": 8080}]}])["taskDefinition"]
    ecs.create_service(cluster="shop", serviceName="web", taskDefinition="shop-web", desiredCount=2,
                       launchType="FARGATE", deploymentController={"type": controller},
                       loadBalancers=[{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:"
                                       "123456789012:targetgroup/shop-blue/1",
                                       "containerName": "web", "containerPort": 8080}])
    new_td = ecs.register_task_definition(
        family="shop-web", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu="256", memory="512",
        containerDefinitions=[{"name": "web", "image": "shop/web:2", "essential": True,
                               "portMappings": [{"containerPort": 8080}]}])["taskDefinition"]
    if alarms:
        cw = emu.client("cloudwatch", REGION)
        for name in alarms:
            cw.put_metric_alarm(AlarmName=name, MetricName="HTTPCode_Target_5XX_Count",
                                Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanOrEqualToThreshold")
    cd = emu.client("codedeploy", REGION)
    cd.create_application(applicationName=APP, computePlatform="ECS")
    cd.create_deployment_group(
        applicationName=APP, deploymentGroupName=GROUP,
        serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
        deploymentConfigName=config,
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        blueGreenDeploymentConfiguration={
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE", "terminationWaitTimeInMinutes": wait_minutes},
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"}},
        autoRollbackConfiguration={"enabled": bool(rollback_events), "events": list(rollback_events)},
        alarmConfiguration={"enabled": bool(alarms), "alarms": [{"name": a} for a in alarms or []]},
        ecsServices=[{"serviceName": "web", "clusterName": "shop"}],
        loadBalancerInfo={"targetGroupPairInfoList": [{
            "targetGroups": [{"name": "shop-blue"}, {"name": "shop-green"}],
            "prodTrafficRoute": {"listenerArns": ["arn:listener/prod"]},
            "testTrafficRoute": {"listenerArns": ["arn:listener/test"]}}]})
    return cd, ecs, td["taskDefinitionArn"], new_td["taskDefinitionArn"]


def _appspec(td, hooks=()):
    return json.dumps({
        "version": 0.0,
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
            "TaskDefinition": td,
            "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 8080}}}}],
        "Hooks": [{event: "drover-shop-bluegreen-hook"} for event in hooks]})


def _deploy(cd, td, hooks=()):
    return cd.create_deployment(
        applicationName=APP, deploymentGroupName=GROUP,
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": _appspec(td, hooks)}},
    )["deploymentId"]


def _advance(emu, seconds):
    emu.control("POST", "clock", {"advance": seconds})


def _info(cd, did):
    return cd.get_deployment(deploymentId=did)["deploymentInfo"]


def _target(cd, did):
    return cd.get_deployment_target(deploymentId=did, targetId="shop:web")["deploymentTarget"]["ecsTarget"]


def _events(cd, did):
    return {e["lifecycleEventName"]: e["status"] for e in _target(cd, did)["lifecycleEvents"]}


def _pending(emu):
    return emu.control("GET", f"codedeploy/hook-executions?region={REGION}&status=Pending")["executions"]


def _service_td(ecs):
    return ecs.describe_services(cluster="shop", services=["web"])["services"][0]["taskDefinition"]


def test_all_at_once_without_hooks_runs_the_lifecycle_and_switches_the_service(emu):
    cd, ecs, old_td, new_td = _setup(emu, wait_minutes=5)
    did = _deploy(cd, new_td)
    assert re.fullmatch(r"d-[A-Z0-9]{9}", did)
    info = _info(cd, did)
    assert info["status"] == "InProgress" and info["computePlatform"] == "ECS"
    assert _events(cd, did)["Install"] == "InProgress"
    assert _events(cd, did)["BeforeInstall"] == "Skipped"

    _advance(emu, 10 + 2 + 2)  # install, test traffic, traffic
    ev = _events(cd, did)
    assert ev["AllowTraffic"] == "Succeeded" and ev["AfterAllowTraffic"] == "Skipped"
    info = _info(cd, did)
    assert info["status"] == "InProgress" and info["instanceTerminationWaitTimeStarted"] is True
    sets = {s["taskSetLabel"]: s for s in _target(cd, did)["taskSetsInfo"]}
    assert sets["Green"]["trafficWeight"] == 100.0 and sets["Blue"]["trafficWeight"] == 0.0
    assert sets["Green"]["runningCount"] == 2
    assert _service_td(ecs) == new_td

    _advance(emu, 300)
    info = _info(cd, did)
    assert info["status"] == "Succeeded" and info["completeTime"] > info["startTime"]
    assert [s["taskSetLabel"] for s in _target(cd, did)["taskSetsInfo"]] == ["Green"]
    assert cd.list_deployment_targets(deploymentId=did)["targetIds"] == ["shop:web"]


def test_hook_waits_for_its_status_then_succeeds(emu):
    cd, ecs, old_td, new_td = _setup(emu)
    did = _deploy(cd, new_td, hooks=("AfterAllowTestTraffic", "BeforeAllowTraffic"))
    _advance(emu, 10 + 2)
    pending = _pending(emu)
    assert len(pending) == 1
    ex = pending[0]
    assert ex["lifecycle_event"] == "AfterAllowTestTraffic" and ex["function"] == "drover-shop-bluegreen-hook"
    assert ex["event"] == {"DeploymentId": did, "LifecycleEventHookExecutionId": ex["execution_id"]}
    _advance(emu, 600)  # a hook waits however long it takes (up to the hook timeout)
    assert _info(cd, did)["status"] == "InProgress"
    assert _events(cd, did)["AfterAllowTestTraffic"] == "InProgress"

    out = cd.put_lifecycle_event_hook_execution_status(
        deploymentId=did, lifecycleEventHookExecutionId=ex["execution_id"], status="Succeeded")
    assert out["lifecycleEventHookExecutionId"] == ex["execution_id"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cd.put_lifecycle_event_hook_execution_status(
            deploymentId=did, lifecycleEventHookExecutionId=ex["execution_id"], status="Succeeded")
    assert e.value.response["Error"]["Code"] == "LifecycleEventAlreadyCompletedException"

    (second,) = _pending(emu)
    assert second["lifecycle_event"] == "BeforeAllowTraffic"
    cd.put_lifecycle_event_hook_execution_status(
        deploymentId=did, lifecycleEventHookExecutionId=second["execution_id"], status="Succeeded")
    _advance(emu, 2)
    assert _info(cd, did)["status"] == "Succeeded"
    assert _service_td(ecs) == new_td


def test_failed_hook_fails_and_rolls_back(emu):
    cd, ecs, old_td, new_td = _setup(emu)
    did = _deploy(cd, new_td, hooks=("AfterAllowTestTraffic",))
    _advance(emu, 12)
    (ex,) = _pending(emu)
    cd.put_lifecycle_event_hook_execution_status(
        deploymentId=did, lifecycleEventHookExecutionId=ex["execution_id"], status="Failed")
    info = _info(cd, did)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    rb = _info(cd, rollback_id)
    assert rb["creator"] == "codeDeployRollback" and rb["status"] == "InProgress"
    assert rb["rollbackInfo"]["rollbackTriggeringDeploymentId"] == did
    _advance(emu, 2)
    assert _info(cd, rollback_id)["status"] == "Succeeded"
    assert _service_td(ecs) == old_td  # traffic never left blue
    # The group is free again.
    _deploy(cd, new_td)


def test_alarm_during_the_termination_wait_stops_and_restores_the_old_task_definition(emu):
    cd, ecs, old_td, new_td = _setup(emu, wait_minutes=15, alarms=["shop-5xx"])
    did = _deploy(cd, new_td)
    _advance(emu, 14)
    assert _service_td(ecs) == new_td and _info(cd, did)["status"] == "InProgress"
    emu.control("POST", "alarms", {"region": REGION, "alarm_name": "shop-5xx", "state": "ALARM"})
    info = _info(cd, did)
    assert info["status"] == "Stopped" and info["errorInformation"]["code"] == "ALARM_ACTIVE"
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    _advance(emu, 2)
    assert _info(cd, rollback_id)["status"] == "Succeeded"
    assert _service_td(ecs) == old_td


def test_canary_shifts_ten_percent_then_all(emu):
    cd, ecs, old_td, new_td = _setup(emu, config="CodeDeployDefault.ECSCanary10Percent5Minutes")
    did = _deploy(cd, new_td)
    _advance(emu, 12 + 1)
    green = [s for s in _target(cd, did)["taskSetsInfo"] if s["taskSetLabel"] == "Green"][0]
    assert green["trafficWeight"] == 10.0
    assert _service_td(ecs) == old_td
    _advance(emu, 300)
    assert _info(cd, did)["status"] == "Succeeded" and _service_td(ecs) == new_td


def test_errors_and_stop(emu):
    cd, ecs, old_td, new_td = _setup(emu, rollback_events=())
    did = _deploy(cd, new_td, hooks=("AfterAllowTestTraffic",))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _deploy(cd, new_td)
    assert e.value.response["Error"]["Code"] == "DeploymentLimitExceededException"
    for kwargs, code in [
        ({"lifecycleEventHookExecutionId": "nope", "status": "Succeeded"},
         "InvalidLifecycleEventHookExecutionIdException"),
        ({"lifecycleEventHookExecutionId": "nope", "status": "Pending"},
         "InvalidLifecycleEventHookExecutionStatusException"),
    ]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            cd.put_lifecycle_event_hook_execution_status(deploymentId=did, **kwargs)
        assert e.value.response["Error"]["Code"] == code
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cd.put_lifecycle_event_hook_execution_status(
            deploymentId="d-NOPE12345", lifecycleEventHookExecutionId="x", status="Succeeded")
    assert e.value.response["Error"]["Code"] == "DeploymentDoesNotExistException"

    out = cd.stop_deployment(deploymentId=did, autoRollbackEnabled=False)
    assert out["status"] == "Succeeded"
    info = _info(cd, did)
    assert info["status"] == "Stopped" and info["errorInformation"]["code"] == "MANUAL_STOP"
    assert not info.get("rollbackInfo")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cd.stop_deployment(deploymentId=did)
    assert e.value.response["Error"]["Code"] == "DeploymentAlreadyCompletedException"


def test_bad_revisions_fail_the_deployment(emu):
    cd, ecs, old_td, new_td = _setup(emu, rollback_events=())
    did = cd.create_deployment(
        applicationName=APP, deploymentGroupName=GROUP,
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "{\"version\": 0.0}"}},
    )["deploymentId"]
    info = _info(cd, did)
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "INVALID_REVISION"

    did = _deploy(cd, "arn:aws:ecs:us-east-1:123456789012:task-definition/missing:9")
    info = _info(cd, did)
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "ECS_UPDATE_ERROR"


def test_hook_timeout_fails(emu):
    cd, ecs, old_td, new_td = _setup(emu, rollback_events=())
    emu.control("POST", "durations", {"codedeploy_hook_timeout": 60})
    did = _deploy(cd, new_td, hooks=("AfterAllowTestTraffic",))
    _advance(emu, 12 + 61)
    info = _info(cd, did)
    assert info["status"] == "Failed" and "did not report" in info["errorInformation"]["message"]


def test_service_must_use_the_codedeploy_controller(emu):
    cd, ecs, old_td, new_td = _setup(emu, controller="ECS", rollback_events=())
    did = _deploy(cd, new_td)
    info = _info(cd, did)
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "INVALID_ECS_SERVICE"
