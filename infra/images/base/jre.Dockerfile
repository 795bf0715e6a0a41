# Stand-in for eclipse-temurin:17-jre (infra/images/build-base.sh): Debian's OpenJDK 17
# headless JRE on the locally imported debian:bookworm-slim.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
 && java -version
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
