# A single-node Apache Kafka 4.1.1 broker in KRaft mode (broker and controller in one
# process), configured by environment variables (see kafka-entrypoint.sh). The jars are
# the ones infra/kafka/pom.xml fetches from Maven Central: `infra/kafka/kafka.sh fetch`
# caches them and infra/images/build.sh copies them into the build context
# (.intake/kafka-libs/), so the image builds without any download.
#
#   docker build -f infra/images/kafka.Dockerfile -t intake/kafka:0.1.0 .
#
# JRE_IMAGE names the public image; infra/images/build-base.sh builds a stand-in.
ARG JRE_IMAGE=eclipse-temurin:17-jre

FROM ${JRE_IMAGE} AS assemble
COPY .intake/kafka-libs/ /opt/kafka/libs/
COPY infra/kafka/log4j2.properties /opt/kafka/config/log4j2.properties
COPY infra/images/kafka-entrypoint.sh /opt/kafka/bin/kafka-entrypoint.sh
# Smoke test: the classpath is complete enough to run Kafka's storage tool.
RUN chmod 0755 /opt/kafka/bin/kafka-entrypoint.sh \
 && java -cp '/opt/kafka/libs/*' -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties \
      -Dintake.log.level=WARN kafka.tools.StorageTool random-uuid

FROM ${JRE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
 && (getent passwd 1000 >/dev/null || useradd --uid 1000 --user-group --no-create-home kafka) \
 && mkdir -p /var/lib/kafka /opt/kafka/config && chown 1000:1000 /var/lib/kafka /opt/kafka/config
COPY --from=assemble /opt/kafka /opt/kafka
RUN chown 1000:1000 /opt/kafka/config
USER 1000:1000
VOLUME ["/var/lib/kafka"]
EXPOSE 9092
ENV KAFKA_HEAP=512m
ENTRYPOINT ["/usr/bin/tini", "--", "/opt/kafka/bin/kafka-entrypoint.sh"]
# Ready once the client listener accepts (the entrypoint opens it last, after the start).
HEALTHCHECK --interval=3s --timeout=3s --start-period=60s --retries=5 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${KAFKA_HEALTH_PORT:-9092}"]
